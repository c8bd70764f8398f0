"""Seeded white noise and streaming FIR-coloured noise, against scipy and direct convolution."""

import numpy as np
import pytest
from scipy import signal

from deepclean.utils.simulation.noise import ColouredNoise, fir_asd, fir_from_asd, white_noise
from deepclean.utils.simulation.spectra import AngularSpectrum, background_asd

GPS = 1_400_000_000


def test_white_noise_is_a_function_of_seed_stream_and_gps() -> None:
    a = white_noise(3, 7, GPS, 1000)
    np.testing.assert_array_equal(a, white_noise(3, 7, GPS, 1000))
    for other in (
        white_noise(4, 7, GPS, 1000),
        white_noise(3, 8, GPS, 1000),
        white_noise(3, 7, GPS + 1, 1000),
    ):
        assert abs(np.corrcoef(a, other)[0, 1]) < 0.15
    assert a.std() == pytest.approx(1.0, abs=0.1)


def test_white_noise_rejects_negative_seed() -> None:
    with pytest.raises(ValueError, match="seed -1.*non-negative"):
        white_noise(-1, 0, GPS, 10)


def test_fir_asd_matches_fft_of_taps_on_the_fft_grid() -> None:
    taps = np.random.default_rng(0).normal(size=64)
    freqs = np.fft.rfftfreq(64, 1 / 128.0)
    expected = np.abs(np.fft.rfft(taps)) * np.sqrt(2 / 128.0)
    np.testing.assert_allclose(fir_asd(taps, 128.0, freqs), expected, rtol=1e-10)


def test_background_filter_reproduces_the_model_asd() -> None:
    fs = 4096
    taps = fir_from_asd(background_asd, fs, 2 * fs)
    x = signal.fftconvolve(np.random.default_rng(1).normal(size=128 * fs), taps, mode="valid")
    freqs, psd = signal.welch(x, fs=fs, nperseg=4 * fs)
    band = (freqs >= 20) & (freqs <= 1500)
    ratio = np.sqrt(psd[band]) / background_asd(freqs[band])
    assert np.mean(ratio) == pytest.approx(1.0, abs=0.02)
    assert np.all(np.abs(ratio - 1) < 0.4)  # single-bin Welch scatter: ~6% rms with 63 averages
    # the design itself (exact DTFT of the taps) is within 0.5% of the model above 20 Hz
    probe = np.linspace(20, 1500, 397)  # off the FFT grid too
    design = fir_asd(taps, fs, probe) / background_asd(probe)
    assert np.max(np.abs(design - 1)) < 5e-3


def test_background_model_shape() -> None:
    asd = background_asd(np.array([10.0, 60.0, 200.0, 1000.0]))
    assert 1e-21 < asd[0] < 1e-20  # seismic wall
    assert 1e-23 < asd[1] < 2e-23
    assert 5e-24 < asd[2] < 1e-23  # bucket
    assert asd[3] > asd[2]  # shot noise rises


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"resonance_hz": 3.0}, "resonance_hz < lowpass_hz"),
        ({"highpass_hz": 2.0}, "highpass_hz < resonance_hz"),
    ],
    ids=["resonance-above-cutoff", "highpass-above-resonance"],
)
def test_angular_spectrum_rejects_bad_corners(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        AngularSpectrum(**kwargs)


def _taps(n_channels: int, length: int) -> np.ndarray:
    return np.random.default_rng(2).normal(size=(n_channels, length))


def test_stream_equals_one_long_convolution() -> None:
    n, length, seconds = 64, 150, 6  # history spans three earlier seconds
    taps = _taps(2, length)
    noise = ColouredNoise(taps, [5, 9], seed=1, samples_per_second=n, start_gps=GPS)
    streamed = np.concatenate([noise.next() for _ in range(seconds)], axis=1)
    warmup = 3
    for c, stream in enumerate([5, 9]):
        white = np.concatenate(
            [white_noise(1, stream, g, n) for g in range(GPS - warmup, GPS + seconds)]
        )
        full = np.convolve(white, taps[c])[warmup * n : (warmup + seconds) * n]
        np.testing.assert_allclose(streamed[c], full, rtol=0, atol=1e-10 * np.abs(full).max())


def test_second_does_not_depend_on_where_the_stream_started() -> None:
    taps = _taps(1, 100)
    late = ColouredNoise(taps, [4], seed=0, samples_per_second=32, start_gps=GPS + 5).next()
    early = ColouredNoise(taps, [4], seed=0, samples_per_second=32, start_gps=GPS)
    for _ in range(5):
        early.next()
    np.testing.assert_allclose(early.next(), late, rtol=1e-12)


def test_coloured_noise_errors() -> None:
    with pytest.raises(ValueError, match="2 rows of taps for 1 stream"):
        ColouredNoise(_taps(2, 10), [1], seed=0, samples_per_second=8, start_gps=GPS)
    with pytest.raises(ValueError, match="start_gps 1 is too early"):
        ColouredNoise(_taps(1, 40), [1], seed=0, samples_per_second=8, start_gps=1)
