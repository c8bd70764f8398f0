"""The ASD over runs with gaps (a window missing seconds) against scipy's Welch on each run and
a direct periodogram loop pooled by hand."""

import numpy as np
import pytest
from scipy import signal

from deepclean.utils.monitoring.asd import (
    Average,
    asd,
    asd_over_runs,
    asd_ratio,
    asd_ratio_over_runs,
    welch_segments,
)
from tests.utils.monitoring.test_asd import FS, direct_asd


def _periodograms(x, fs, fftlength):
    """Hann periodograms at half overlap by hand (one-sided density, constant detrend)."""
    n = int(fftlength * fs)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
    scale = 1.0 / (fs * np.sum(window**2))
    for start in range(0, len(x) - n + 1, n // 2):
        seg = x[start : start + n] - x[start : start + n].mean()
        power = np.abs(np.fft.rfft(seg * window)) ** 2 * scale
        power[1:-1] *= 2
        yield power


@pytest.mark.parametrize("average", list(Average), ids=lambda a: a.value)
def test_one_run_is_scipy_welch(average):
    x = np.random.default_rng(4).standard_normal((2, int(16 * FS)))
    freqs, got = asd_over_runs([x], FS, 2.0, average)
    want_freqs, want_psd = signal.welch(
        x, fs=FS, window="hann", nperseg=int(2 * FS), noverlap=int(FS), average=average.value
    )
    np.testing.assert_allclose(freqs, want_freqs)
    np.testing.assert_allclose(got, np.sqrt(want_psd), rtol=1e-10)


def test_runs_pool_every_periodogram_weighted_by_segment_count():
    """Mean: the segment-count-weighted mean of scipy's Welch PSD of each run, which is also the
    mean of every periodogram of a direct loop over each run; short runs (< 1 FFT) left out."""
    rng = np.random.default_rng(5)
    lengths = [30.0, 7.0, 1.5, 18.0]  # seconds; 1.5 s holds no 2 s FFT
    runs = [rng.standard_normal(int(s * FS)) * (1 + i) for i, s in enumerate(lengths)]
    freqs, got = asd_over_runs(runs, FS, 2.0, Average.MEAN)

    weights = [welch_segments(s, 2.0) for s in lengths]
    assert weights == [29, 6, 0, 17]
    psds = [signal.welch(r, fs=FS, nperseg=int(2 * FS))[1] for r, w in zip(runs, weights) if w]
    want = np.sqrt(np.average(psds, axis=0, weights=[w for w in weights if w]))
    np.testing.assert_allclose(got, want, rtol=1e-10)

    # the same from a direct loop: squared ASD times segment count is the sum of periodograms
    total = sum(direct_asd(r, FS, 2.0)[1] ** 2 * w for r, w in zip(runs, weights) if w)
    np.testing.assert_allclose(got, np.sqrt(total / sum(weights)), rtol=1e-10)
    assert freqs[1] == pytest.approx(0.5)


def test_median_over_runs_pools_before_the_median():
    rng = np.random.default_rng(6)
    runs = [rng.standard_normal(int(s * FS)) for s in (20.0, 11.0)]
    _, got = asd_over_runs(runs, FS, 2.0, Average.MEDIAN)
    pooled = np.array([p for r in runs for p in _periodograms(r, FS, 2.0)]).T  # (freqs, n)
    n = pooled.shape[1]
    assert n == 19 + 10
    bias = 1 + sum(1 / (2 * k + 1) - 1 / (2 * k) for k in range(1, (n - 1) // 2 + 1))
    np.testing.assert_allclose(got, np.sqrt(np.median(pooled, axis=1) / bias), rtol=1e-10)


def test_ratio_over_runs_of_a_scaled_copy_is_exact_and_gaps_cost_little():
    rng = np.random.default_rng(7)
    t = np.arange(int(64 * FS)) / FS
    raw = rng.standard_normal(t.size) + 20 * np.sin(2 * np.pi * 60 * t)
    assert asd_ratio_over_runs([0.3 * raw[: 4096 * 30]], [raw[: 4096 * 30]], FS, [(58, 62)]) == (
        pytest.approx(0.3, rel=1e-12)
    )
    # a window of 64 s with seconds 20 and 41 missing: three runs
    cleaned = raw - 19 * np.sin(2 * np.pi * 60 * t)  # the line mostly removed
    cut = [(0, 20), (21, 41), (42, 64)]
    runs_c = [cleaned[a * 4096 : b * 4096] for a, b in cut]
    runs_r = [raw[a * 4096 : b * 4096] for a, b in cut]
    whole = asd_ratio(cleaned, raw, FS, [(58, 62)])
    gappy = asd_ratio_over_runs(runs_c, runs_r, FS, [(58, 62)])
    assert gappy == pytest.approx(whole, rel=0.05)


def test_errors_name_what_is_wrong():
    with pytest.raises(
        ValueError, match="no run of data holds one FFT of 2.0 s .* longest has 4096"
    ):
        asd_over_runs([np.zeros(4096), np.zeros(100)], FS, 2.0)
    with pytest.raises(ValueError, match="differ in number or lengths"):
        asd_ratio_over_runs([np.zeros(8192)], [np.zeros(8193)], FS, [(58, 62)])
    # one run equals asd() exactly, by default with the median (DEFAULT_AVERAGE)
    x = np.random.default_rng(8).standard_normal(int(8 * FS))
    np.testing.assert_allclose(
        asd_over_runs([x], FS)[1], asd(x, FS, 2.0, Average.MEDIAN)[1], rtol=1e-12
    )
