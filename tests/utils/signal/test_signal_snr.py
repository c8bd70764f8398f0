"""Matched filtering against direct loops, Gaussian-noise statistics and a known shift and phase."""

import math

import numpy as np
import pytest
from scipy.signal import hilbert

from deepclean.utils.signal.recovery import noise_psd, recover
from deepclean.utils.signal.snr import inner_product, matched_filter, mismatch, optimal_snr, peak

FS = 1024.0
N = 4096


def chirp(n=N, fs=FS, t0=2.0):
    t = np.arange(n) / fs - t0
    return np.exp(-((t / 0.15) ** 2)) * np.cos(2 * np.pi * (80 * t + 60 * t**2))


def test_inner_product_of_white_noise_is_the_time_domain_sum():
    """Flat PSD S0, band-limited zero-mean signals: <a|b> = 2 / (S0 fs) sum a b."""
    s0 = 2.0 / FS
    a, b = chirp(), np.roll(chirp(), 7)
    psd = np.full(N // 2 + 1, s0)
    direct = 2.0 / (s0 * FS) * float(np.dot(a, b))
    assert inner_product(a, b, FS, psd, 0.0) == pytest.approx(direct, rel=1e-9)


def test_matched_filter_equals_a_direct_loop_over_lags():
    rng = np.random.default_rng(1)
    d = rng.normal(size=N) + 3 * np.roll(chirp(), 11)
    h = chirp()
    psd = 1e-3 * (1 + (np.fft.rfftfreq(N, 1 / FS) / 100.0) ** 2)
    z = matched_filter(d, h, FS, psd, 20.0, 400.0)
    sigma = optimal_snr(h, FS, psd, 20.0, 400.0)
    for lag in (0, 5, 11, N - 3):
        direct = inner_product(d, np.roll(h, lag), FS, psd, 20.0, 400.0) / sigma
        assert z[lag].real == pytest.approx(direct, rel=1e-9, abs=1e-9)


def test_peak_finds_the_shift_and_the_phase():
    h = chirp()
    phase = 0.8
    quadrature = np.imag(hilbert(h))  # h shifted by 90 degrees
    d = np.roll(math.cos(phase) * h + math.sin(phase) * quadrature, 37)
    psd = np.ones(N // 2 + 1)
    z = matched_filter(d, h, FS, psd, 20.0, None)
    best = peak(z, FS, optimal_snr(h, FS, psd, 20.0), max_offset_s=0.1)
    assert best.time_offset_s == pytest.approx(37 / FS)
    assert abs(math.remainder(best.phase_rad + phase, 2 * math.pi)) < 1e-3  # arg z = -phase
    assert best.snr == pytest.approx(best.sigma, rel=1e-3)


def test_snr_in_gaussian_noise_scatters_by_one_around_the_optimal():
    """200 realisations of coloured Gaussian noise with a template of optimal SNR 10."""
    rng = np.random.default_rng(7)
    freqs = np.fft.rfftfreq(N, 1 / FS)
    asd = 1 + (30 / np.maximum(freqs, 1)) ** 2
    h = chirp()
    psd_true = asd**2 * 2 / FS  # white unit-variance noise has PSD 2/fs
    h = h * 10 / optimal_snr(h, FS, psd_true, 20.0, 400.0)
    snrs = []
    for _ in range(200):
        noise = np.fft.irfft(np.fft.rfft(rng.normal(size=N)) * asd, N)
        snrs.append(matched_filter(noise + h, h, FS, psd_true, 20.0, 400.0)[0].real)
    assert np.mean(snrs) == pytest.approx(10.0, abs=0.25)  # 4 sigma of the mean
    assert np.std(snrs) == pytest.approx(1.0, abs=0.15)


def test_recover_with_a_reference_is_exact_and_psd_from_noise():
    rng = np.random.default_rng(3)
    noise = rng.normal(size=20 * N)
    freqs, psd = noise_psd([noise[: 10 * N], noise[12 * N :]], FS, 4.0)
    assert np.median(psd[(freqs > 20) & (freqs < 400)]) == pytest.approx(2 / FS, rel=0.1)
    h = 0.05 * chirp()
    seg = noise[10 * N : 11 * N]
    rec = recover(
        seg + 0.9 * h,
        h,
        FS,
        freqs,
        psd,
        f_low=20.0,
        f_high=400.0,
        taper_s=0.5,
        max_offset_s=0.01,
        reference=seg,
    )
    assert rec.recovered_fraction == pytest.approx(0.9, rel=1e-9)
    assert rec.mismatch == pytest.approx(0.0, abs=1e-9)
    assert mismatch(h, h, FS, np.ones(N // 2 + 1), 20.0) == pytest.approx(0.0, abs=1e-12)


def test_errors_name_the_lengths():
    with pytest.raises(ValueError, match="data of 10 and template of 12 samples"):
        matched_filter(np.zeros(10), np.zeros(12), FS, np.ones(6), 20.0)
    with pytest.raises(ValueError, match="no stretch of signal-free data as long as the 4 s FFT"):
        noise_psd([np.zeros(100)], FS, 4.0)
