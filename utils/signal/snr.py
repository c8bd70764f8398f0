"""Matched filtering: optimal and matched-filter SNR, noise-weighted inner products, PSDs.

Conventions (those of the LIGO literature, e.g. Allen et al., "FINDCHIRP", PRD 85 122006):
the Fourier transform of samples ``x[k]`` at rate ``fs`` is ``X(f) = rfft(x) / fs``
(units strain x s), frequency spacing ``df = fs / N``, and the noise-weighted inner product
over ``f_low <= f <= f_high`` is

    <a|b> = 4 Re sum_f A(f) B*(f) / S(f) df

with ``S`` the one-sided PSD (1/Hz). The optimal SNR of a signal ``h`` is ``sqrt(<h|h>)``.
The complex matched-filter SNR of data ``d`` against template ``h`` at lag ``tau`` is

    z(tau) = 4 sum_{f>0} D(f) H*(f) / S(f) exp(2 pi i f tau) df / sqrt(<h|h>)

so that ``|z|`` peaks at the lag by which the signal in ``d`` is later than ``h`` and
``arg z`` is the phase offset of the data against the template (0 for the template itself);
in Gaussian noise ``Re z`` at the true lag scatters around the optimal SNR with unit
variance. Every function here is pure numpy (no I/O).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepclean.utils.signal import welch


def _band(freqs: np.ndarray, f_low: float, f_high: float | None) -> np.ndarray:
    high = freqs[-1] if f_high is None else f_high
    return (freqs >= f_low) & (freqs <= high) & (freqs > 0)


def psd_on_grid(
    psd_freqs: np.ndarray, psd: np.ndarray, n_samples: int, sample_rate: float
) -> np.ndarray:
    """The PSD (1/Hz) interpolated (linearly in log power) onto the ``rfft`` grid of
    ``n_samples`` at ``sample_rate`` Hz; outside ``psd_freqs`` it is held at the end values."""
    freqs = np.fft.rfftfreq(n_samples, 1.0 / sample_rate)
    positive = np.asarray(psd) > 0
    if not np.any(positive):
        raise ValueError("PSD has no positive value")
    logp = np.interp(freqs, np.asarray(psd_freqs)[positive], np.log(np.asarray(psd)[positive]))
    return np.exp(logp)


def inner_product(
    a: np.ndarray,
    b: np.ndarray,
    sample_rate: float,
    psd: np.ndarray,
    f_low: float,
    f_high: float | None = None,
) -> float:
    """``<a|b>`` of two series of equal length (``psd`` on their ``rfft`` grid, 1/Hz)."""
    if len(a) != len(b):
        raise ValueError(
            f"series of {len(a)} and {len(b)} samples: the inner product needs equal lengths"
        )
    n = len(a)
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    if len(psd) != len(freqs):
        raise ValueError(f"PSD of {len(psd)} bins for {len(freqs)} frequencies of {n} samples")
    keep = _band(freqs, f_low, f_high)
    fa, fb = np.fft.rfft(a) / sample_rate, np.fft.rfft(b) / sample_rate
    df = sample_rate / n
    return float(4.0 * df * np.sum((fa * np.conj(fb))[keep].real / psd[keep]))


def optimal_snr(
    h: np.ndarray, sample_rate: float, psd: np.ndarray, f_low: float, f_high: float | None = None
) -> float:
    """``sqrt(<h|h>)``: the SNR a perfectly matched filter gets on average."""
    return float(np.sqrt(inner_product(h, h, sample_rate, psd, f_low, f_high)))


def design_optimal_snr(
    h: np.ndarray, sample_rate: float, asd_function, f_low: float, f_high: float | None = None
) -> float:
    """Optimal SNR of ``h`` against an analytic ASD ``asd_function(freqs_hz)`` (1/sqrt(Hz))."""
    freqs = np.fft.rfftfreq(len(h), 1.0 / sample_rate)
    return optimal_snr(h, sample_rate, asd_function(freqs) ** 2, f_low, f_high)


@dataclass(frozen=True)
class MatchedFilterPeak:
    """The loudest complex SNR within the search window."""

    snr: float  #: |z| at the peak
    phase_rad: float  #: arg z at the peak: data phase minus template phase
    time_offset_s: float  #: lag of the peak: signal in the data later than the template by this
    sigma: float  #: sqrt(<h|h>) with the PSD used (the template's optimal SNR)
    snr_at_zero_lag: float  #: Re z(0): the SNR of the template where it was injected


def matched_filter(
    data: np.ndarray,
    template: np.ndarray,
    sample_rate: float,
    psd: np.ndarray,
    f_low: float,
    f_high: float | None = None,
) -> np.ndarray:
    """Complex SNR ``z`` at every circular lag (index ``k``: lag ``k / sample_rate``;
    the second half are negative lags). ``psd`` on the ``rfft`` grid of ``len(data)``."""
    if len(data) != len(template):
        raise ValueError(
            f"data of {len(data)} and template of {len(template)} samples: "
            "pad the template to the data"
        )
    n = len(data)
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    keep = _band(freqs, f_low, f_high)
    fd, fh = np.fft.rfft(data) / sample_rate, np.fft.rfft(template) / sample_rate
    df = sample_rate / n
    sigma = np.sqrt(4.0 * df * np.sum(np.abs(fh[keep]) ** 2 / psd[keep]))
    if not sigma > 0:
        raise ValueError("template has no power in the band: matched filter undefined")
    full = np.zeros(n, dtype=complex)
    weights = np.where(keep, 4.0 * df / np.where(psd > 0, psd, np.inf), 0.0)
    full[: len(freqs)] = fd * np.conj(fh) * weights
    if n % 2 == 0:
        full[len(freqs) - 1] = 0.0  # the Nyquist bin has no negative twin
    return np.fft.ifft(full) * n / sigma


def peak(
    z: np.ndarray,
    sample_rate: float,
    sigma: float,
    max_offset_s: float,
) -> MatchedFilterPeak:
    """The peak of ``|z|`` within ``+/- max_offset_s`` of zero lag."""
    n = len(z)
    lags = np.arange(n)
    lags = np.where(lags < (n + 1) // 2, lags, lags - n)
    near = np.abs(lags) <= max_offset_s * sample_rate
    index = np.flatnonzero(near)[np.argmax(np.abs(z[near]))]
    return MatchedFilterPeak(
        snr=float(np.abs(z[index])),
        phase_rad=float(np.angle(z[index])),
        time_offset_s=float(lags[index] / sample_rate),
        sigma=float(sigma),
        snr_at_zero_lag=float(z[0].real),
    )


def welch_psd(
    data: np.ndarray, sample_rate: float, fftlength_s: float, average: str = "median"
) -> tuple[np.ndarray, np.ndarray]:
    """``(freqs_hz, psd)``: one-sided Welch PSD (Hann, half overlap; ``average`` "median"
    is robust to a stray glitch or signal, "mean" is unbiased for Gaussian noise)."""
    return welch.welch_psd(data, sample_rate, fftlength_s, average)


def mismatch(
    a: np.ndarray,
    b: np.ndarray,
    sample_rate: float,
    psd: np.ndarray,
    f_low: float,
    f_high: float | None = None,
) -> float:
    """``1 - <a|b> / sqrt(<a|a><b|b>)`` at zero lag and phase (0: identical shapes)."""
    ab = inner_product(a, b, sample_rate, psd, f_low, f_high)
    aa = inner_product(a, a, sample_rate, psd, f_low, f_high)
    bb = inner_product(b, b, sample_rate, psd, f_low, f_high)
    return float(1.0 - ab / np.sqrt(aa * bb))


__all__ = [
    "MatchedFilterPeak",
    "design_optimal_snr",
    "inner_product",
    "matched_filter",
    "mismatch",
    "optimal_snr",
    "peak",
    "psd_on_grid",
    "welch_psd",
]
