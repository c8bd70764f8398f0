"""In-band ASD ratios for promotion decisions: how long a stretch, how fine the FFT, what averaging.

The monitor compares cleaned strain with the raw strain it was cleaned from, over the last
``segment`` seconds, as the mean over the frequency bins inside the band(s) of
ASD(cleaned) / ASD(raw); ASDs are Welch estimates (Hann window, ``fftlength`` seconds per
FFT, half overlap, mean or median of the periodograms).

Why not the original 10 s with an 8 s FFT: that leaves one Welch segment (with half
overlap, ``K = 2 * segment / fftlength - 1`` segments). One Hann periodogram per bin is a
chi-squared variable with 2 degrees of freedom (relative standard deviation 100 % in power),
and the ratio of two such estimates has the F(2, 2) distribution, whose mean and variance
are infinite: a single lucky bin can move the band mean anywhere, so N consecutive passes
say little.

Defaults here (``DEFAULT_SEGMENT_S`` = 64 s, ``DEFAULT_FFTLENGTH_S`` = 2 s):
``K = 63`` half-overlapping Hann segments. Welch's variance for Hann at 50 % overlap is
``(1 + 2 c**2) / K`` with ``c = 0.167`` (the window's overlap correlation), so the PSD of
one bin has a relative standard deviation ``sqrt(1.056 / 63) = 13 %``, its ASD half that,
6.5 %; the 0.5 Hz resolution (the original OUT_DQ gate's and the loss's 2 s FFT) leaves
9 bins in 58-62 Hz, ~5 independent after Hann leakage, so a band mean scatters by ~3 %,
and the ratio of two series on the *same* samples by less (what survives cleaning is
common to both). Monte Carlo on synthetic strain (background plus a band-limited coupled
noise 20x above it; canary and production each leaving an independent 30 % residual),
60 independent segments per row, mean-averaged periodograms:

=========  ========  ===========  ==========================  ====================
segment    FFT       segments K   canary/raw: mean, rel. std   canary/production - 1
=========  ========  ===========  ==========================  ====================
10 s       8 s       1            0.46 (biased!), 29 %         std 25 %
32 s       4 s       15           0.31, 3.8 %                  std 3.9 %
64 s       4 s       31           0.31, 2.7 %                  std 2.4 %
**64 s**   **2 s**   **63**       **0.30, 1.8 %**              **std 2.0 %**
128 s      4 s       63           0.30, 1.8 %                  std 1.9 %
=========  ========  ===========  ==========================  ====================

(the exact ratio is 0.30). One 8 s FFT over 10 s is both noisy and biased upwards (the
mean of a ratio of chi-squared variables); 64 s with 2 s FFTs decides on a ~2 % scatter,
the size of the default 2 % tolerance, at one check a minute. Residuals of successive
(fine-tuned) models are correlated, which shrinks the canary/production scatter further;
independent residuals, as here, are the worst case. ``passes`` consecutive passes of
disjoint segments then make a promotion of a canary clearly worse than production (by
several sigma) vanishingly unlikely.

**Median average for decisions** (``DEFAULT_AVERAGE``; gwpy's default; LAL's and PyCBC's
median and median-mean PSDs exist for the same reason): the periodograms are averaged by
their median, with scipy's bias correction for ``K`` chi-squared(2) values (``ln 2`` in
power for large ``K``), so Gaussian noise gives the same PSD and the same ratios as the
mean, within statistics. A loud transient in strain - a signal or a glitch - occupies a few
of the ``K`` periodograms of raw *and* cleaned strain alike (cleaning passes it through);
the mean adds its power to both, so in-band the transient, not the removed noise, sets both
PSDs: the in-band ratio rises towards 1 and the BNS-range gain from cleaning vanishes.
Measured on the end-to-end test's span (tests/services/cleaner/test_cleaner_signals.py, 8 s
checks, an optimal-SNR-300 sine-Gaussian at 60 Hz, Q 9): with the mean, canary/raw goes from
0.114 without the signal to 0.678 with it and the range gain from +1.1 % to -0.014 %, which
fails ``range(canary) >= range(raw)``; with the median, 0.120 -> 0.175 and +1.5 % ->
+0.53 %, the check passes as without the signal. The median ignores the few outlying periodograms.
Its price: on the Monte Carlo above (64 s, 2 s FFTs, 40 draws) the median's ratios scatter
about twice as much as the mean's (canary/raw rel. std 3.7 % against 1.7 %,
canary/production - 1 std 3.3 % against 2.0 %; the numerator's and the denominator's medians
fall on different periodograms), at the same mean ratio (0.307 against 0.305).
``asd_average = "mean"`` in the monitor's settings restores the mean. The OUT_DQ gate
(:mod:`deepclean.utils.signal.outdq`) has always used the median.
Regression tests of these figures: tests/utils/monitoring/test_asd.py::test_ratio_scatter (both
averages) and tests/utils/monitoring/test_asd_transient.py (a loud transient).

Checks ``monitor_period`` seconds apart with ``monitor_period >= segment`` use disjoint
data, so N consecutive passes are N independent pieces of evidence.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from scipy import signal

# asd_ratio lives in utils/signal (mean average by default); the monitor decides on the median
from deepclean.utils.signal import asd_ratios as ratios
from deepclean.utils.signal.asd_ratios import band_ratio
from deepclean.utils.signal.welch import OVERLAP, Average, asd, welch_segments

__all__ = [
    "Average",
    "asd",
    "asd_over_runs",
    "asd_ratio",
    "asd_ratio_over_runs",
    "welch_segments",
]

DEFAULT_SEGMENT_S = 64.0  #: seconds of data per check
DEFAULT_FFTLENGTH_S = 2.0  #: seconds per Welch FFT (0.5 Hz resolution)
DEFAULT_AVERAGE = Average.MEDIAN  #: of the periodograms: robust to a loud transient


#: :func:`deepclean.utils.signal.asd_ratios.asd_ratio` with the monitor's defaults (give them by
#: keyword): ``fftlength`` :data:`DEFAULT_FFTLENGTH_S`, ``average`` :data:`DEFAULT_AVERAGE` (median)
asd_ratio = functools.partial(
    ratios.asd_ratio, fftlength=DEFAULT_FFTLENGTH_S, average=DEFAULT_AVERAGE
)


def _median_bias(n: int) -> float:
    """Expected median / mean of ``n`` chi-squared(2) periodogram values (scipy's correction)."""
    k = np.arange(1, (n - 1) // 2 + 1)
    return float(1 + np.sum(1.0 / (2 * k + 1) - 1.0 / (2 * k)))


def asd_over_runs(
    runs: Sequence[np.ndarray],
    sample_rate: float,
    fftlength: float = DEFAULT_FFTLENGTH_S,
    average: Average | str = DEFAULT_AVERAGE,
) -> tuple[np.ndarray, np.ndarray]:
    """Welch ASD over contiguous runs of data with gaps between them.

    ``runs``: arrays (n, samples_i), the same ``n`` series over each run; a run shorter than
    one FFT is left out. Every half-overlapping Hann periodogram of every run is pooled and
    averaged (mean, or median with scipy's bias correction for the pooled count), so no FFT
    straddles a gap and each run weighs by its number of segments: over one run this is
    exactly :func:`asd` (scipy's Welch). Returns frequencies (Hz) and ASDs (n, freqs).
    """
    nperseg = int(round(fftlength * sample_rate))
    kept = [np.asarray(r, dtype=np.float64) for r in runs if np.shape(r)[-1] >= nperseg]
    if nperseg < 2 or not kept:
        longest = max((np.shape(r)[-1] for r in runs), default=0)
        raise ValueError(
            f"no run of data holds one FFT of {fftlength} s ({nperseg} samples at "
            f"{sample_rate} Hz); the longest has {longest} samples"
        )
    periodograms = []
    for run in kept:
        freqs, _, sxx = signal.spectrogram(
            run,
            fs=sample_rate,
            window="hann",
            nperseg=nperseg,
            noverlap=int(nperseg * OVERLAP),
            detrend="constant",
            scaling="density",
            mode="psd",
            axis=-1,
        )
        periodograms.append(sxx)  # (n, freqs, segments)
    pooled = np.concatenate(periodograms, axis=-1)
    if Average(average) is Average.MEAN:
        psd = pooled.mean(axis=-1)
    else:
        psd = np.median(pooled, axis=-1) / _median_bias(pooled.shape[-1])
    return freqs, np.sqrt(psd)


def asd_ratio_over_runs(
    a_runs: Sequence[np.ndarray],
    b_runs: Sequence[np.ndarray],
    sample_rate: float,
    bands: Sequence[tuple[float, float]],
    fftlength: float = DEFAULT_FFTLENGTH_S,
    average: Average | str = DEFAULT_AVERAGE,
) -> float:
    """:func:`asd_ratio` over runs with gaps; ``a_runs[i]``, ``b_runs[i]``: the same times."""
    if [np.shape(a) for a in a_runs] != [np.shape(b) for b in b_runs]:
        raise ValueError("runs of the two series differ in number or lengths; need the same times")
    freqs, asds = asd_over_runs(
        [np.stack([a, b]) for a, b in zip(a_runs, b_runs, strict=True)],
        sample_rate,
        fftlength,
        average,
    )
    return band_ratio(asds[0], asds[1], freqs, bands)
