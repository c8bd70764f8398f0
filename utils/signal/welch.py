"""Welch PSD and ASD estimates: the one implementation every numpy caller shares.

Hann window, ``fftlength`` seconds per segment, half overlap, periodograms averaged by their
mean (unbiased for Gaussian noise) or median (robust to a glitch or a signal; biased by ln 2 in
power for Gaussian noise, equally for every series, so ratios keep their meaning); one-sided,
along the last axis. The training loss has its own torch estimate (:mod:`.psd`), checked
against scipy.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from scipy import signal

OVERLAP = 0.5  #: fraction of overlap between Welch segments


class Average(StrEnum):
    """How Welch periodograms are averaged."""

    MEAN = "mean"
    MEDIAN = "median"


def welch_segments(duration: float, fftlength: float) -> int:
    """Number of half-overlapping Welch segments of ``fftlength`` s in ``duration`` s."""
    if fftlength <= 0 or duration < fftlength:
        return 0
    step = fftlength * (1 - OVERLAP)
    return int(np.floor((duration - fftlength) / step + 1e-9)) + 1


def welch_psd(
    x: np.ndarray, sample_rate: float, fftlength: float, average: Average | str = Average.MEAN
) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (Hz) and one-sided PSD (units**2 / Hz) of ``x`` along its last axis;
    ``fftlength`` in seconds, ``sample_rate`` in Hz."""
    x = np.asarray(x, dtype=np.float64)
    nperseg = int(round(fftlength * sample_rate))
    if nperseg < 2 or x.shape[-1] < nperseg:
        raise ValueError(
            f"Number of samples {x.shape[-1]} is insufficient for an ASD with fftlength "
            f"{fftlength} s ({nperseg} samples at {sample_rate} Hz)"
        )
    return signal.welch(
        x,
        fs=sample_rate,
        window="hann",
        nperseg=nperseg,
        noverlap=int(nperseg * OVERLAP),
        average=Average(average).value,
        axis=-1,
    )


def asd(
    x: np.ndarray, sample_rate: float, fftlength: float, average: Average | str = Average.MEAN
) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (Hz) and one-sided ASD (units / sqrt(Hz)) of ``x`` along its last axis."""
    freqs, psd = welch_psd(x, sample_rate, fftlength, average)
    return freqs, np.sqrt(psd)
