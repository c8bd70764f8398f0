import numpy as np
import pytest
from scipy import signal

from deepclean.utils.signal.asd_ratios import asd_ratio, cleaning_report
from deepclean.utils.signal.filters import BandpassFilter
from deepclean.utils.signal.postprocess import (
    LIVE_EXTENSION_S,
    clean,
    filter_noise,
    filter_noise_bands,
)

FS = 1024.0


def test_filter_noise_crops_padding_and_matches_long_filter():
    rng = np.random.default_rng(0)
    bp = BandpassFilter(((58, 62),), FS)
    noise = rng.normal(size=int(20 * FS))
    full = bp(noise)
    # filter a 3 s stretch with 2 s memory and 2 s lead: the middle second matches the long filter
    start, stop = int(8 * FS), int(9 * FS)
    memory = lead = int(2 * FS)
    got = filter_noise(noise[start - memory : stop + lead], bp, memory, lead)
    assert got.shape == (stop - start,)
    np.testing.assert_allclose(got, full[start:stop], atol=0.02 * full.std())


def test_filter_noise_bands_splits_the_band_pass_by_band():
    """With padding and the live extension, each band's series is that band's filter alone and
    the series add up to :func:`filter_noise` bit for bit."""
    rng = np.random.default_rng(2)
    bp = BandpassFilter(((57, 63), (117, 123)), FS)
    noise = rng.normal(size=int(8 * FS))
    memory, lead, extension = int(2 * FS), int(0.9 * FS), int(FS)
    per_band = filter_noise_bands(noise, bp, memory, lead, extension)
    total = filter_noise(noise, bp, memory, lead, extension)
    assert [x.shape for x in per_band] == [total.shape] * 2
    np.testing.assert_array_equal(per_band[0] + per_band[1], total)
    alone = filter_noise(noise, BandpassFilter(((117, 123),), FS), memory, lead, extension)
    np.testing.assert_array_equal(per_band[1], alone)


def test_live_edge_extension_matches_sosfiltfilt_over_the_whole_record():
    """At the live edge (the cleaner's default lead, 0.93 s, at 4096 Hz) the band-passed mains
    noise of each second, continued by ``LIVE_EXTENSION_S`` of prediction, matches scipy's
    ``sosfiltfilt`` over the whole record to 0.1% rms; without the extension it is off by ~0.65%
    (the issue's bound on the removed noise is 0.5%)."""
    fs = 4096
    t = np.arange(40 * fs) / fs
    mains = (1 + 0.3 * np.sin(2 * np.pi * 0.1 * t)) * np.sin(
        2 * np.pi * 60 * t + 0.5 * np.sin(2 * np.pi * 0.05 * t)
    )  # amplitude and phase modulated over 10-20 s
    noise = (
        mains
        + 0.5 * np.sin(2 * np.pi * 20 * t)
        + 0.1 * np.random.default_rng(4).normal(size=t.size)
    )
    sos = signal.butter(8, [57, 63], btype="bandpass", fs=fs, output="sos")
    whole = signal.sosfiltfilt(sos, noise)[5 * fs : 35 * fs]
    bp = BandpassFilter(((57, 63),), fs)
    memory, lead, extension = 2 * fs, int(0.93 * fs), int(LIVE_EXTENSION_S * fs)

    def live(extension_samples: int) -> np.ndarray:
        return np.concatenate(
            [
                filter_noise(
                    noise[o * fs - memory : (o + 1) * fs + lead],
                    bp,
                    memory,
                    lead,
                    extension_samples,
                )
                for o in range(5, 35)
            ]
        )

    def rms_difference(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean((x - whole) ** 2) / np.mean(whole**2)))

    assert rms_difference(live(extension)) < 1e-3
    assert rms_difference(live(0)) > 4e-3  # the end effect the extension removes


def test_clean_removes_in_band_noise_only():
    rng = np.random.default_rng(1)
    n = int(16 * FS)
    t = np.arange(n) / FS
    background = rng.normal(size=n)
    coupled = 20 * BandpassFilter(((59, 61),), FS)(rng.normal(size=n)) + 20 * np.sin(
        2 * np.pi * 60 * t
    )
    raw = background + coupled
    # a noise estimate that is right in band but wrong out of band: the band-pass removes the latter
    estimate = coupled + 5 * np.sin(2 * np.pi * 30 * t) + 5 * np.sin(2 * np.pi * 100 * t)
    pad = int(2 * FS)  # filter edge transients stay in the padding
    cleaned = clean(raw[pad:-pad], estimate, BandpassFilter(((58, 62),), FS), memory=pad, lead=pad)
    report = cleaning_report(
        raw[pad:-pad],
        cleaned,
        FS,
        [(58, 62)],
        background=background[pad:-pad],
        out_of_band=[(20, 50), (70, 200)],
    )
    assert report["in_band_ratio"] < 0.3
    for value in report["out_of_band_ratio"].values():
        assert value == pytest.approx(1.0, abs=0.02)
    assert report["background_ratio"] < 3.0
    assert report["raw_background_ratio"] > 5.0


def test_asd_ratio_direct():
    rng = np.random.default_rng(2)
    a = rng.normal(size=int(64 * FS))
    assert asd_ratio(0.5 * a, a, FS, [(10, 100)]) == pytest.approx(0.5)
    b = rng.normal(size=int(64 * FS))
    assert asd_ratio(2 * b, a, FS, [(10, 400)]) == pytest.approx(2.0, rel=0.03)


@pytest.mark.parametrize("memory, lead", [(5, 5), (-1, 0)], ids=["too-much", "negative"])
def test_filter_noise_bad_padding(memory, lead):
    with pytest.raises(ValueError, match=r"padding memory=.* lead=.* leave nothing of 10"):
        filter_noise(np.zeros(10), BandpassFilter(((58, 62),), FS), memory, lead)


def test_filter_noise_bad_extension():
    with pytest.raises(ValueError, match=r"extension is -3 samples; it must be >= 0"):
        filter_noise(np.zeros(10), BandpassFilter(((58, 62),), FS), 0, 0, -3)


def test_subtract_shape_mismatch():
    with pytest.raises(
        ValueError, match=r"raw strain has shape \(10,\) but noise has shape \(8,\) with memory=0"
    ):
        clean(np.zeros(10), np.zeros(8), BandpassFilter(((58, 62),), FS))


def test_ready_gate_against_direct_construction():
    from deepclean.utils.signal.gate import ready_gate

    ready = np.zeros(60, dtype=bool)
    ready[10:40] = True
    ready[45:48] = True
    gate = ready_gate(ready, taper=5)
    expected = np.zeros(60)
    expected[10:40] = 1.0
    ramp = np.hanning(10)[:5]
    expected[10:15], expected[35:40] = ramp, ramp[::-1]
    expected[45:46], expected[47:48] = np.hanning(2)[:1], np.hanning(2)[:1]
    expected[46] = 1.0
    np.testing.assert_allclose(gate, expected)
    assert np.all(gate[~ready] == 0) and gate.max() == 1.0


def test_ready_gate_all_ready_no_taper():
    from deepclean.utils.signal.gate import ready_gate

    np.testing.assert_array_equal(ready_gate(np.ones(8, dtype=bool), 0), np.ones(8))


def test_out_of_band_figures_leave_out_every_cleaning_band():
    """With cleaning bands at 60 and 120 Hz, 70-200 Hz is judged without 116-124 Hz: a cleaned
    120 Hz band does not count as an out-of-band change, a change at 150 Hz does."""
    rng = np.random.default_rng(3)
    n = int(64 * FS)
    raw = rng.normal(size=n)
    bands = [(58, 62), (118, 122)]
    cleaned = raw - 0.9 * BandpassFilter(((118, 122),), FS)(raw)
    report = cleaning_report(raw, cleaned, FS, bands)
    assert report["out_of_band_ratio"]["70-200Hz"] == pytest.approx(1.0, abs=0.005)
    assert report["in_band_ratio"] < 0.7  # the 120 Hz band is cleaned, 60 Hz not
    louder = cleaned + 3 * BandpassFilter(((145, 155),), FS)(rng.normal(size=n))
    # oracle: the direct mean over 70-200 Hz without 116-124 Hz (2 s Welch bins)
    freqs = np.fft.rfftfreq(int(2 * FS), 1 / FS)
    keep = (freqs >= 70) & (freqs <= 200) & ~((freqs >= 116) & (freqs <= 124))
    _, a = signal.welch(louder, FS, nperseg=int(2 * FS))
    _, b = signal.welch(raw, FS, nperseg=int(2 * FS))
    expected = np.mean(np.sqrt(a[keep] / b[keep]))
    got = cleaning_report(raw, louder, FS, bands)["out_of_band_ratio"]["70-200Hz"]
    assert got == pytest.approx(expected, rel=1e-9) and got > 1.05
    with pytest.raises(ValueError, match=r"out-of-band span \(119, 121\) Hz lies inside"):
        cleaning_report(raw, cleaned, FS, bands, out_of_band=[(119, 121)])
