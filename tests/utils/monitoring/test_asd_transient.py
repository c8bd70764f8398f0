"""Median-averaged Welch PSDs for decisions: unbiased on Gaussian noise, and a loud transient in
strain moves no canary check (the monitor's default averaging), where the mean lets it decide.

The segment is the monitor's (64 s of 2 s FFTs): a white background, a 57-63 Hz coupled noise
20x above it in ASD that cleaning removes down to 10 %, and a canary (= production) that adds
a little noise at 70-115 Hz, as the trained test model does: without a transient its BNS range
beats raw's by ~0.6 %. A 60 Hz sine-Gaussian (Q 9, optimal SNR 1000 against the background: a
loud glitch or signal) is added to raw and cleaned strain alike, as cleaning passes it through.
"""

import numpy as np
import pytest
from scipy import signal

from deepclean.services.monitor.ranges import segment_ranges
from deepclean.services.monitor.settings import MonitorSettings
from deepclean.utils.monitoring.asd import (
    DEFAULT_FFTLENGTH_S,
    DEFAULT_SEGMENT_S,
    Average,
    asd_over_runs,
)
from deepclean.utils.monitoring.decision import CanaryTracker, Thresholds, Verdict
from deepclean.utils.monitoring.range_gate import range_veto
from deepclean.utils.signal.asd_ratios import band_ratio
from deepclean.utils.signal.welch import welch_psd

FS = 4096.0
ASD = 1e-23  #: white background, strain / sqrt(Hz)
BAND = [(58.0, 62.0)]
MONITOR_AVERAGE = MonitorSettings.model_fields["asd_average"].default


def _band_noise(rng, n, low, high):
    """Gaussian noise of one-sided PSD ~1 / Hz inside ``low``-``high`` Hz."""
    sos = signal.butter(8, [low, high], btype="bandpass", fs=FS, output="sos")
    w = signal.sosfilt(sos, rng.standard_normal(n + 8192))[8192:]
    return w / np.std(w) * np.sqrt(high - low)


def _sine_gaussian(n, t0_s, snr, f0=60.0, q=9.0):
    """Sine-Gaussian at ``t0_s`` with optimal SNR ``snr`` against the white background
    (snr**2 = 2 / PSD * integral of h**2 dt)."""
    t = np.arange(n) / FS - t0_s
    h = np.exp(-((t * np.sqrt(2) * np.pi * f0 / q) ** 2)) * np.sin(2 * np.pi * f0 * t)
    return h * np.sqrt(snr**2 * ASD**2 / 2 / (np.sum(h**2) / FS))


def _segment(seed, snr):
    """Raw, production, canary and OUT_DQ strain of one monitor segment (4, samples)."""
    rng = np.random.default_rng(seed)
    n = int(DEFAULT_SEGMENT_S * FS)
    background = ASD * np.sqrt(FS / 2) * rng.standard_normal(n)
    coupled = 20 * ASD * _band_noise(rng, n, 57.0, 63.0)
    cleaned = background + 0.1 * coupled + 0.05 * ASD * _band_noise(rng, n, 70.0, 115.0)
    transient = _sine_gaussian(n, DEFAULT_SEGMENT_S / 2 + 0.6, snr) if snr else 0.0
    return np.stack([background + coupled, cleaned, cleaned, cleaned]) + transient


def _check(series, average):
    """The monitor's check of one segment: in-band ratios, BNS ranges, verdict."""
    freqs, asds = asd_over_runs([series], FS, DEFAULT_FFTLENGTH_S, average)
    by_name = dict(zip(("raw", "production", "canary", "out_dq"), asds))
    canary = band_ratio(by_name["canary"], by_name["raw"], freqs, BAND)
    production = band_ratio(by_name["production"], by_name["raw"], freqs, BAND)
    ranges = segment_ranges(0, freqs, by_name)
    veto = range_veto(ranges, MonitorSettings.model_fields["range_tolerance"].default)
    verdict = CanaryTracker(Thresholds()).check(0, 1, 2, canary, production, veto).verdict
    return canary, ranges.canary / ranges.raw - 1, verdict


def test_the_monitor_decides_on_median_psds():
    assert MONITOR_AVERAGE is Average.MEDIAN


@pytest.mark.parametrize("seconds,tolerance", [(64, 0.01), (8, 0.03)])
def test_median_psd_of_gaussian_noise_is_unbiased(seconds, tolerance):
    """White noise of unit variance has the one-sided PSD 2 / FS; the median of K periodograms
    is ln 2 (K large) to 0.76 (K = 7) of it before scipy's bias correction."""
    x = np.random.default_rng(9).standard_normal(int(seconds * FS))
    freqs, psd = welch_psd(x, FS, 2.0, Average.MEDIAN)
    inner = (freqs > 1) & (freqs < FS / 2 - 1)
    assert np.mean(psd[inner]) / (2 / FS) == pytest.approx(1.0, abs=tolerance)
    _, scipy_psd = signal.welch(
        x, fs=FS, window="hann", nperseg=int(2 * FS), noverlap=int(FS), average="median"
    )
    np.testing.assert_allclose(psd, scipy_psd, rtol=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_loud_transient_moves_no_decision(seed):
    quiet, loud = _segment(seed, 0.0), _segment(seed, 1000.0)
    ratio, gain, verdict = _check(quiet, MONITOR_AVERAGE)
    assert verdict is Verdict.PASS and gain > 0.004 and ratio < 0.15
    ratio_loud, gain_loud, verdict_loud = _check(loud, MONITOR_AVERAGE)
    assert verdict_loud is verdict
    assert ratio_loud == pytest.approx(ratio, rel=0.1)
    assert gain_loud == pytest.approx(gain, rel=0.3)
    # mean-averaged, the transient's power sets both PSDs in band: the ratio goes towards 1,
    # the range gain from cleaning vanishes and the canary fails range(canary) >= range(raw)
    ratio_mean, gain_mean, _ = _check(quiet, Average.MEAN)
    ratio_mean_loud, gain_mean_loud, verdict_mean_loud = _check(loud, Average.MEAN)
    assert ratio_mean_loud > 5 * ratio_mean
    assert gain_mean_loud < 0 < gain_mean
    assert verdict_mean_loud is Verdict.FAIL
