"""Welch power spectral density in torch (Hann window, mean of periodograms), differentiable.

Matches ``scipy.signal.welch(x, fs, window="hann", nperseg, noverlap, detrend=False,
scaling="density", average="mean")`` along the last axis.
"""

from __future__ import annotations

import torch


def welch(x: torch.Tensor, sample_rate: float, fftlength: float, overlap: float) -> torch.Tensor:
    """One-sided PSD of ``x`` along the last axis, units of ``x``^2 / Hz.

    Args:
        x: ``(..., time)`` samples.
        sample_rate: Hz.
        fftlength: segment length, seconds.
        overlap: overlap between segments, seconds (``0 <= overlap < fftlength``).

    Returns:
        ``(..., nperseg // 2 + 1)`` PSD at frequencies ``k * sample_rate / nperseg``.
    """
    nperseg = int(round(fftlength * sample_rate))
    noverlap = int(round(overlap * sample_rate))
    if not 0 <= noverlap < nperseg:
        raise ValueError(f"Welch overlap {overlap} s must be >= 0 and < fftlength {fftlength} s")
    if x.shape[-1] < nperseg:
        raise ValueError(
            f"Number of samples {x.shape[-1]} in input x is insufficient for fftlength "
            f"{fftlength} s ({nperseg} samples at {sample_rate} Hz)"
        )
    window = torch.hann_window(nperseg, periodic=True, dtype=x.dtype, device=x.device)
    segments = x.unfold(-1, nperseg, nperseg - noverlap)  # (..., n_segments, nperseg)
    spectra = torch.fft.rfft(segments * window, dim=-1)
    power = spectra.real**2 + spectra.imag**2
    scale = 1.0 / (sample_rate * (window**2).sum())
    # one-sided: double every bin but DC (and Nyquist when nperseg is even)
    onesided = torch.full((power.shape[-1],), 2.0, dtype=x.dtype, device=x.device)
    onesided[0] = 1.0
    if nperseg % 2 == 0:
        onesided[-1] = 1.0
    return power.mean(dim=-2) * (scale * onesided)


def welch_frequencies(sample_rate: float, fftlength: float) -> torch.Tensor:
    """Frequencies (Hz) of the bins returned by :func:`welch`."""
    nperseg = int(round(fftlength * sample_rate))
    return torch.fft.rfftfreq(nperseg, d=1.0 / sample_rate, dtype=torch.float64)
