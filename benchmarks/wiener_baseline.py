"""Linear multi-input single-output (MISO) Wiener filter: the baseline DeepClean must beat.

Fitted in the frequency domain on a training span: for each frequency bin ``f`` of Welch
segments (Hann window, ``fftlength`` s, half overlap) the transfer functions ``H(f)``
minimise ``E|Y(f) - sum_i H_i(f) X_i(f)|^2``, i.e. ``H = A^-1 b`` with the witness
cross-spectral matrix ``A = E[conj(X) X^T]`` and ``b = E[conj(X) Y]`` (Tikhonov-regularised
by ``regularization`` x mean diagonal). Only bins within ``margin`` Hz of the cleaning
band(s) are fitted (the estimate is band-passed afterwards, exactly like DeepClean's).
Each ``H_i`` becomes a zero-phase FIR of ``fftlength`` s (inverse FFT, centred, Hann
tapered) applied by overlap-add convolution. A linear filter can remove what is linear in
the witnesses (the mains line) but not bilinear sidebands (mains x angular motion).

Pure numpy/scipy; used by ``bench_cleaning.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal


@dataclass(frozen=True)
class WienerFilter:
    """FIR taps ``(W, taps)`` (zero-phase: centred) at ``sample_rate`` Hz."""

    taps: np.ndarray
    sample_rate: float

    @classmethod
    def fit(
        cls,
        witnesses: np.ndarray,
        target: np.ndarray,
        sample_rate: float,
        bands: Sequence[tuple[float, float]],
        fftlength: float = 8.0,
        margin: float = 5.0,
        regularization: float = 1e-6,
    ) -> WienerFilter:
        """Fit on ``witnesses`` ``(W, N)`` and ``target`` ``(N,)`` (same samples)."""
        witnesses = np.asarray(witnesses, dtype=np.float64)
        target = np.asarray(target, dtype=np.float64)
        nperseg = int(round(fftlength * sample_rate))
        step = nperseg // 2
        if target.size < nperseg:
            raise ValueError(
                f"{target.size} samples are fewer than one {fftlength} s segment "
                f"({nperseg} samples)"
            )
        freqs = np.fft.rfftfreq(nperseg, 1 / sample_rate)
        keep = np.zeros(freqs.size, dtype=bool)
        for lo, hi in bands:
            keep |= (freqs >= lo - margin) & (freqs <= hi + margin)
        bins = np.flatnonzero(keep)
        window = signal.windows.hann(nperseg, sym=False)
        w = witnesses.shape[0]
        a = np.zeros((bins.size, w, w), dtype=complex)
        b = np.zeros((bins.size, w), dtype=complex)
        count = 0
        for start in range(0, target.size - nperseg + 1, step):
            x = np.fft.rfft(witnesses[:, start : start + nperseg] * window, axis=1)[
                :, bins
            ].T  # (F, W)
            y = np.fft.rfft(target[start : start + nperseg] * window)[bins]  # (F,)
            a += np.conj(x)[:, :, None] * x[:, None, :]
            b += np.conj(x) * y[:, None]
            count += 1
        a /= count
        b /= count
        scale = np.real(np.trace(a, axis1=1, axis2=2)) / w
        a += (regularization * scale)[:, None, None] * np.eye(w)[None]
        h = np.linalg.solve(a, b[:, :, None])[:, :, 0]  # (F, W)
        spectrum = np.zeros((w, freqs.size), dtype=complex)
        spectrum[:, bins] = h.T
        taps = np.fft.irfft(spectrum, n=nperseg, axis=1)
        taps = np.roll(taps, nperseg // 2, axis=1) * signal.windows.hann(nperseg, sym=False)
        return cls(taps=taps, sample_rate=float(sample_rate))

    def predict(self, witnesses: np.ndarray) -> np.ndarray:
        """Noise estimate ``(N,)`` for ``witnesses`` ``(W, N)`` (zero-phase; edges less
        accurate)."""
        witnesses = np.asarray(witnesses, dtype=np.float64)
        if witnesses.shape[0] != self.taps.shape[0]:
            raise ValueError(
                f"filter has {self.taps.shape[0]} witnesses, input {witnesses.shape[0]}"
            )
        n, centre = witnesses.shape[1], self.taps.shape[1] // 2  # tap ``centre`` is lag zero
        out = np.zeros(n)
        for x, h in zip(witnesses, self.taps):
            out += signal.oaconvolve(x, h, mode="full")[centre : centre + n]
        return out
