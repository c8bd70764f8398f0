"""The simulated detector: determinism, continuity against whole-stretch oracles, and physics.

The physics checks run on a few hundred seconds generated in memory and use scipy's Welch
and coherence estimates and a least-squares fit as independent oracles.
"""

import numpy as np
import pytest
from scipy import signal

from deepclean.utils.simulation import channels as ch
from deepclean.utils.simulation import interp
from deepclean.utils.simulation.detector import (
    ASC_BASE_RATE_HZ,
    DetectorConfig,
    SimulatedDetector,
    simulate,
    stream_id,
    witness_scale,
)
from deepclean.utils.simulation.noise import white_noise
from deepclean.utils.simulation.spectra import background_asd

GPS = 1_400_000_000
FS = 16384
MAINS = f"H1:{ch.MAINS}"


def _seconds(config: DetectorConfig, start: int, n: int):
    det = SimulatedDetector(config, start)
    return [det.next() for _ in range(n)]


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b = _seconds(DetectorConfig(seed=4), GPS, 2), _seconds(DetectorConfig(seed=4), GPS, 2)
    c = _seconds(DetectorConfig(seed=5), GPS, 2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.strain, y.strain)
        for name in x.witnesses:
            np.testing.assert_array_equal(x.witnesses[name], y.witnesses[name])
    assert not np.allclose(a[1].strain, c[1].strain, rtol=1e-3, atol=0)


def test_a_second_does_not_depend_on_the_start() -> None:
    late = _seconds(DetectorConfig(), GPS + 3, 1)[0]
    early = _seconds(DetectorConfig(), GPS, 4)[-1]
    assert early.gps == late.gps == GPS + 3
    np.testing.assert_allclose(
        early.strain, late.strain, rtol=0, atol=1e-12 * np.abs(late.strain).max()
    )
    for name in late.witnesses:
        np.testing.assert_allclose(
            early.witnesses[name], late.witnesses[name], rtol=1e-12, atol=1e-12
        )


def test_layout_of_a_second() -> None:
    second = _seconds(DetectorConfig(ifo="L1"), GPS, 1)[0]
    assert second.strain.shape == second.background.shape == (FS,)
    assert len(second.witnesses) == 18
    for name, data in second.witnesses.items():
        assert name.startswith("L1:") and data.shape == (second.rates[name],)
    assert 1e-19 < np.std(second.strain) < 1e-17  # dominated by the seismic wall, like real strain


def test_frames_join_like_one_long_generation() -> None:
    """Concatenated seconds equal whole-stretch computations: one long FIR convolution for
    the ASC witnesses and one interpolation over the whole stretch for the coupled noise."""
    n = 4
    config = DetectorConfig()
    det = SimulatedDetector(config, GPS)
    seconds = [det.next() for _ in range(n)]
    warmup = config.asc_filter_s
    first = GPS - 1 - warmup  # the ASC filter history starts here
    slow = {}
    for i, name in enumerate(det.asc_names):
        white = np.concatenate(
            [
                white_noise(config.seed, stream_id(name, "signal"), g, ASC_BASE_RATE_HZ)
                for g in range(first, GPS + n + 1)
            ]
        )
        slow[name] = np.convolve(white, det.asc_taps[i])[: len(white)]
    offset = (GPS - first) * ASC_BASE_RATE_HZ
    for name in ("ASC-DHARD_P_OUT_DQ", "ASC-CSOFT_P_OUT_DQ"):  # 512 Hz and 256 Hz witnesses
        rate = ch.native_rate(name)
        sensor = np.concatenate(
            [
                white_noise(config.seed, stream_id(name, "sensor"), g, rate)
                for g in range(GPS, GPS + n)
            ]
        )
        truth = slow[name][offset : offset + n * ASC_BASE_RATE_HZ : ASC_BASE_RATE_HZ // rate]
        expected = witness_scale(name) * (truth + config.asc_noise_asd * np.sqrt(rate / 2) * sensor)
        got = np.concatenate([s.witnesses[f"H1:{name}"] for s in seconds])
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())
    # coupled noise: the mains (analytic, tested on its own) times one whole-stretch interpolation
    mains_hat = (
        np.concatenate(
            [det.mains.sample(g, FS, config.coupling_phase_rad) for g in range(GPS, GPS + n)]
        )
        / config.mains_amplitude
    )
    span = slice(offset - interp.BEFORE, offset + n * ASC_BASE_RATE_HZ + interp.AFTER)
    modulation = sum(
        w * interp.upsample(slow[name][span], FS // ASC_BASE_RATE_HZ)
        for name, w in config.couplings
    )
    expected = det.linear_gain * mains_hat + det.bilinear_gain * mains_hat * modulation
    got = np.concatenate([s.strain - s.background for s in seconds])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9 * np.abs(expected).max())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"witnesses": ("ASC-MICH_P_OUT_DQ",), "couplings": ()}, "must include the mains monitor"),
        ({"couplings": (("ASC-FOO_P_OUT_DQ", 1.0),)}, "coupled witness ASC-FOO_P_OUT_DQ is not"),
        (
            {"couplings": (("ASC-MICH_P_OUT_DQ", -1.0),)},
            "weight -1.0 of ASC-MICH_P_OUT_DQ must be >= 0",
        ),
        ({"line_frequency_hz": 5.0}, "line frequency 5.0 Hz is outside 10-200 Hz"),
        ({"seed": -2}, "seed -2 must be >= 0"),
    ],
    ids=["no-mains", "unknown-coupled", "negative-weight", "line-frequency", "seed"],
)
def test_config_errors(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        DetectorConfig(**kwargs)


def test_start_too_early_is_rejected() -> None:
    with pytest.raises(ValueError, match="start GPS 3 must be at least"):
        SimulatedDetector(DetectorConfig(), 3)


# ---------------------------------------------------------------------- physics

DURATION = 256


@pytest.fixture(scope="module")
def stretch():
    return simulate(DetectorConfig(), GPS, DURATION)


def _welch(x: np.ndarray, fs: float, fftlength: float = 2.0):
    nper = int(fftlength * fs)
    return signal.welch(x, fs=fs, window="hann", nperseg=nper, noverlap=nper // 2)


def _band(freqs, low, high):
    return (freqs >= low) & (freqs <= high)


@pytest.fixture(scope="module")
def strain_1024(stretch):
    return signal.resample_poly(stretch.strain, 1, 16), signal.resample_poly(
        stretch.background, 1, 16
    )


def test_background_follows_the_model(stretch) -> None:
    freqs, psd = _welch(stretch.background, FS)
    band = _band(freqs, 20, 1000)
    assert np.mean(np.sqrt(psd[band]) / background_asd(freqs[band])) == pytest.approx(1.0, abs=0.03)


def test_in_band_coupled_noise_dominates_the_background(stretch) -> None:
    freqs, raw = _welch(stretch.strain, FS)
    _, bg = _welch(stretch.background, FS)
    band = _band(freqs, 58, 62)
    ratio = np.sqrt(raw[band] / bg[band])
    assert 10 <= np.mean(ratio) <= 40  # designed ~20-25x
    assert np.min(ratio) >= 5  # every bin, edges included


def test_coupled_noise_is_negligible_out_of_band(stretch) -> None:
    freqs, coupled = _welch(stretch.strain - stretch.background, FS)
    _, bg = _welch(stretch.background, FS)
    _, raw = _welch(stretch.strain, FS)
    outside = _band(freqs, 20, 55) | _band(freqs, 65, 1000)
    assert np.max(np.sqrt(coupled[outside] / bg[outside])) < 0.05
    for low, high in [(20, 50), (70, 200)]:  # the cleaning checks' out-of-band ranges
        m = _band(freqs, low, high)
        assert np.mean(np.sqrt(raw[m] / bg[m])) == pytest.approx(1.0, abs=1e-3)


def test_strain_is_coherent_with_the_mains_witness_at_the_line(stretch, strain_1024) -> None:
    freqs, coh = signal.coherence(strain_1024[0], stretch.witnesses[MAINS], fs=1024, nperseg=2048)
    assert coh[np.argmin(np.abs(freqs - 60.0))] > 0.8


@pytest.mark.parametrize(
    "name",
    ["ASC-MICH_P_OUT_DQ", "ASC-SRC2_Y_OUT_DQ", "ASC-DHARD_P_OUT_DQ"],
    ids=["MICH_P", "SRC2_Y", "coupled-DHARD_P"],
)
def test_asc_witnesses_have_no_linear_coherence_with_strain(stretch, name) -> None:
    """Uncoupled witnesses do not couple at all; coupled ones only through the product with the
    mains."""
    rate = stretch.rates[f"H1:{name}"]
    strain = signal.resample_poly(stretch.strain, 1, FS // rate)
    freqs, coh = signal.coherence(
        strain, stretch.witnesses[f"H1:{name}"], fs=rate, nperseg=2 * rate
    )
    m = _band(freqs, 0.1, 10) | _band(freqs, 55, 65)
    assert np.max(coh[m]) < 0.06


TRIM = 8 * 1024  #: samples dropped at each end after zero-phase band-passing (filter transients)


def _regress(target: np.ndarray, regressors: list[np.ndarray]) -> np.ndarray:
    """Residual (edges trimmed) of a least-squares fit of band-passed ``target`` on band-passed
    regressors."""
    sos = signal.butter(8, [55, 65], "bandpass", fs=1024, output="sos")
    y = signal.sosfiltfilt(sos, target)[TRIM:-TRIM]
    x = np.stack([signal.sosfiltfilt(sos, r)[TRIM:-TRIM] for r in regressors], axis=1)
    x = x / x.std(axis=0)
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    return target[TRIM:-TRIM] - x @ coef


def test_noise_is_removable_with_witness_products_but_not_linearly(stretch, strain_1024) -> None:
    """A fit on [mains, mains x coupled ASC] (both quadratures) leaves about the background;
    a fit on the mains alone (the best linear filter here) leaves most of the sidebands."""
    strain, background = strain_1024
    mains = stretch.witnesses[MAINS]
    quadrature = np.imag(signal.hilbert(mains))
    ascs = [
        signal.resample_poly(stretch.witnesses[f"H1:{n}"], 1024 // stretch.rates[f"H1:{n}"], 1)
        for n in ch.DEFAULT_COUPLINGS
    ]
    linear = _regress(strain, [mains, quadrature])
    bilinear = _regress(
        strain, [mains, quadrature, *[m * a for a in ascs for m in (mains, quadrature)]]
    )
    freqs, raw = _welch(strain[TRIM:-TRIM], 1024)
    _, bg = _welch(background[TRIM:-TRIM], 1024)
    _, lin = _welch(linear, 1024)
    _, bil = _welch(bilinear, 1024)
    band = _band(freqs, 58, 62)
    assert 0.7 < np.mean(np.sqrt(lin[band] / raw[band])) < 0.95  # ~0.86: mostly bilinear
    assert np.mean(np.sqrt(bil[band] / bg[band])) < 1.05  # down to the background
