"""Does a signal come out of cleaning intact? Per-injection matched filtering (pure numpy).

Method (docs/signals.md#deepclean-validate):

* **segment**: the signal's stretch of data plus ``pad`` seconds on each side (whole
  seconds), tapered by a Tukey window whose tapers lie inside the pads;
* **PSD**: from nearby data *without* the signal: the ``chunks`` of the same series before
  and after the segment (other injections and missing seconds left out), each a median
  Welch estimate (Hann, ``fftlength`` s, half overlap), averaged weighted by length, then
  interpolated in log power onto the segment's frequency grid. Each series (raw,
  production, OUT_DQ, canary) is whitened by its own PSD, as a search would;
* **matched filter**: the injected waveform (the truth channel, resampled like the data)
  is the template; the complex SNR's peak within ``max_offset`` of the injected time gives
  the SNR, the time offset and the phase offset (:mod:`~deepclean.utils.signal.snr`);
* **recovered fraction** (when the same series cleaned from the same data *without* the
  injection is known, ``reference``): ``<cleaned - reference | h> / <h|h>``: 1 when cleaning
  passed the signal through untouched, below 1 by the fraction it subtracted. The network
  sees only witnesses, so cleaned - reference is the signal filtered by nothing but the
  resampling: the fraction is exact, with no noise in it. (Without a reference, SNR ratios
  carry the noise's scatter, ~1/SNR.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal.windows import tukey

from deepclean.utils.signal.snr import (
    inner_product,
    matched_filter,
    peak,
    psd_on_grid,
    welch_psd,
)


def noise_psd(
    chunks: Sequence[np.ndarray], sample_rate: float, fftlength_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(freqs, psd)``: median-Welch PSDs of ``chunks`` averaged by length (1/Hz)."""
    usable = [c for c in chunks if len(c) >= fftlength_s * sample_rate]
    if not usable:
        raise ValueError(
            f"no stretch of signal-free data as long as the {fftlength_s:g} s FFT for the PSD"
        )
    weights = np.array([len(c) for c in usable], dtype=float)
    estimates = [welch_psd(c, sample_rate, fftlength_s, "median") for c in usable]
    freqs = estimates[0][0]
    psd = np.sum([w * p for w, (_, p) in zip(weights, estimates)], axis=0) / weights.sum()
    return freqs, psd


@dataclass(frozen=True)
class Recovery:
    """The matched filter of one series at one injection."""

    snr: float  #: peak |z| within max_offset of the injected time
    time_offset_s: float  #: peak time minus injected time, s
    phase_offset_rad: float  #: arg z at the peak (0: the data's signal in phase with the template)
    optimal_snr: float  #: sqrt(<h|h>) with this series' PSD: the SNR expected on average
    recovered_fraction: float | None = None  #: see the module docstring; None: no reference
    mismatch: float | None = None  #: 1 - normalised overlap of (series - reference) with h


def recover(
    series: np.ndarray,
    template: np.ndarray,
    sample_rate: float,
    psd_freqs: np.ndarray,
    psd: np.ndarray,
    *,
    f_low: float,
    f_high: float,
    taper_s: float,
    max_offset_s: float,
    reference: np.ndarray | None = None,
) -> Recovery:
    """Matched-filter ``series`` (a segment) against ``template`` (the injection in the same
    segment, zero outside the signal); ``reference``: the same series without the signal."""
    n = len(series)
    window = tukey(n, min(1.0, 2 * taper_s * sample_rate / n))
    grid = psd_on_grid(psd_freqs, psd, n, sample_rate)
    z = matched_filter(series * window, template * window, sample_rate, grid, f_low, f_high)
    h = template * window
    sigma = float(np.sqrt(inner_product(h, h, sample_rate, grid, f_low, f_high)))
    best = peak(z, sample_rate, sigma, max_offset_s)
    fraction = mism = None
    if reference is not None:
        recovered = (series - reference) * window
        overlap = inner_product(recovered, h, sample_rate, grid, f_low, f_high)
        fraction = overlap / sigma**2
        norm = np.sqrt(inner_product(recovered, recovered, sample_rate, grid, f_low, f_high))
        mism = 1.0 - overlap / (sigma * norm) if norm > 0 else 1.0
    return Recovery(best.snr, best.time_offset_s, best.phase_rad, sigma, fraction, mism)


__all__ = ["Recovery", "noise_psd", "recover"]
