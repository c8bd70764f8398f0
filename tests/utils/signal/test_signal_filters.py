import numpy as np
import pytest
from scipy import signal

from deepclean.utils.signal.filters import BandpassFilter, band_mask

FS = 4096.0


def _tone(freq, seconds=8.0):
    t = np.arange(int(seconds * FS)) / FS
    return np.sin(2 * np.pi * freq * t)


def test_matches_scipy_sosfiltfilt():
    x = np.random.default_rng(0).normal(size=4 * 4096)
    sos = signal.butter(8, [58, 62], btype="bandpass", fs=FS, output="sos")
    np.testing.assert_allclose(
        BandpassFilter(((58, 62),), FS)(x), signal.sosfiltfilt(sos, x), rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize(
    "freq, gain",
    [(60.0, 1.0), (30.0, 0.0), (100.0, 0.0), (61.0, 1.0)],
    ids=["centre", "below", "above", "in-band"],
)
def test_passes_band_only(freq, gain):
    out = BandpassFilter(((58, 62),), FS)(_tone(freq))
    middle = slice(2 * 4096, 6 * 4096)
    amplitude = np.sqrt(2) * out[middle].std()
    assert amplitude == pytest.approx(gain, abs=2e-3)


def test_zero_phase():
    x = _tone(60.0, seconds=16.0)
    out = BandpassFilter(((58, 62),), FS)(x)
    middle = slice(4 * 4096, 12 * 4096)  # away from the edge transients
    np.testing.assert_allclose(out[middle], x[middle], atol=1e-3)


def test_two_bands_sum():
    x = _tone(60.0) + _tone(120.0) + _tone(90.0)
    both = BandpassFilter(((58, 62), (118, 122)), FS)
    one = BandpassFilter(((58, 62),), FS)
    two = BandpassFilter(((118, 122),), FS)
    np.testing.assert_allclose(both(x), one(x) + two(x), atol=1e-12)


def test_per_band_is_each_band_alone_and_sums_to_the_band_pass():
    x = _tone(60.0) + _tone(120.0) + _tone(90.0)
    both = BandpassFilter(((58, 62), (118, 122)), FS)
    per_band = both.per_band(x)
    for band, got in zip(both.bands, per_band):
        sos = signal.butter(8, band, btype="bandpass", fs=FS, output="sos")
        np.testing.assert_allclose(got, signal.sosfiltfilt(sos, x), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(both(x), per_band[0] + per_band[1])


def test_filters_last_axis_of_2d():
    x = np.random.default_rng(1).normal(size=(3, 8192))
    bp = BandpassFilter(((58, 62),), FS)
    np.testing.assert_allclose(bp(x)[1], bp(x[1]), atol=1e-15)


@pytest.mark.parametrize(
    "bands, match",
    [
        (((62, 58),), r"band 62.0-58.0 Hz is not allowed"),
        (((58, 3000),), r"Nyquist \(2048.0 Hz\)"),
        (((50, 60), (55, 65)), r"overlap"),
        ((), r"no cleaning band"),
    ],
    ids=["reversed", "above-nyquist", "overlap", "empty"],
)
def test_bad_bands(bands, match):
    with pytest.raises(ValueError, match=match):
        BandpassFilter(bands, FS)


def test_band_mask_edges_included():
    freqs = np.arange(0, 100, 0.5)
    mask = band_mask(freqs, [(58, 62)])
    assert freqs[mask][0] == 58 and freqs[mask][-1] == 62 and mask.sum() == 9
