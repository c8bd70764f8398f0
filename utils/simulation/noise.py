"""Seeded white noise and streaming FIR-coloured noise.

White noise for GPS second ``gps`` of stream ``stream`` is drawn from
``numpy.random.default_rng([seed, stream, gps])``: it depends on nothing else, so any
second can be regenerated on its own. ``ColouredNoise`` filters such per-second white noise
with fixed FIR taps by overlap-save, carrying the last ``len(taps) - 1`` input samples from
one second to the next: the output is exactly the linear convolution of the endless white
stream with the taps, so consecutive seconds join seamlessly and second N does not depend
on where the stream started (the filter history is rebuilt from earlier seconds' seeds).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import fft as sp_fft
from scipy import signal


def white_noise(seed: int, stream: int, gps: int, n_samples: int) -> np.ndarray:
    """``n_samples`` standard-normal samples for GPS second ``gps`` of ``stream``."""
    if seed < 0 or stream < 0 or gps < 0:
        raise ValueError(
            f"seed {seed}, stream {stream} and gps {gps} must all be non-negative integers"
        )
    return np.random.default_rng([seed, stream, gps]).standard_normal(n_samples)


def fir_from_asd(
    asd: Callable[[np.ndarray], np.ndarray],
    sample_rate: float,
    n_taps: int,
    *,
    kaiser_beta: float = 8.0,
) -> np.ndarray:
    """Linear-phase FIR taps that colour unit-variance white noise to the one-sided ASD
    ``asd(f)`` (units/sqrt(Hz), f in Hz) at ``sample_rate`` Hz, by frequency sampling on the
    ``n_taps`` grid and a Kaiser window (``kaiser_beta``). ``n_taps`` sets the frequency
    resolution, ``sample_rate / n_taps`` Hz."""
    if n_taps < 8:
        raise ValueError(f"n_taps {n_taps} is too short for an FIR noise filter; need at least 8")
    freqs = np.fft.rfftfreq(n_taps, 1.0 / sample_rate)
    # unit white noise at rate fs has one-sided PSD 2/fs, so |H| = ASD * sqrt(fs / 2)
    magnitude = np.asarray(asd(freqs), dtype=np.float64) * math.sqrt(sample_rate / 2.0)
    taps = np.fft.irfft(magnitude, n=n_taps)
    taps = np.roll(taps, n_taps // 2) * signal.windows.kaiser(n_taps, kaiser_beta, sym=False)
    return taps


def fir_asd(taps: np.ndarray, sample_rate: float, freqs_hz: np.ndarray) -> np.ndarray:
    """One-sided ASD (units/sqrt(Hz)) of unit-variance white noise filtered by ``taps``
    (one filter, or one per row), evaluated at ``freqs_hz`` (Hz) exactly (direct DTFT)."""
    freqs = np.atleast_1d(np.asarray(freqs_hz, dtype=np.float64))
    taps = np.asarray(taps, dtype=np.float64)
    kernel = np.exp(-2j * np.pi * np.outer(np.arange(taps.shape[-1]), freqs / sample_rate))
    return np.abs(taps @ kernel) * math.sqrt(2.0 / sample_rate)


class ColouredNoise:
    """Streaming coloured noise: channel ``c`` is white stream ``streams[c]`` filtered by
    ``taps[c]``, ``samples_per_second`` samples per GPS second, starting at ``start_gps``.

    Call :meth:`next` once per second; it returns a ``(channel, samples_per_second)`` array
    for GPS second :attr:`gps` and advances.
    """

    def __init__(
        self,
        taps: np.ndarray,
        streams: Sequence[int],
        *,
        seed: int,
        samples_per_second: int,
        start_gps: int,
    ) -> None:
        taps = np.atleast_2d(np.asarray(taps, dtype=np.float64))
        if taps.shape[0] != len(streams):
            raise ValueError(
                f"got {taps.shape[0]} rows of taps for {len(streams)} stream(s); need one "
                "per stream"
            )
        self.seed = int(seed)
        self.streams = [int(s) for s in streams]
        self.n = int(samples_per_second)
        self.gps = int(start_gps)
        self._n_hist = taps.shape[1] - 1
        self._nfft = sp_fft.next_fast_len(self._n_hist + self.n, real=True)
        self._taps_fft = sp_fft.rfft(taps, self._nfft, axis=-1)
        warmup = math.ceil(self._n_hist / self.n)
        if self.gps - warmup < 0:
            raise ValueError(
                f"start_gps {start_gps} is too early: the filter history needs {warmup} "
                "earlier second(s)"
            )
        past = [self._white(self.gps - k) for k in range(warmup, 0, -1)]
        history = np.concatenate(past, axis=-1) if past else np.zeros((len(self.streams), 0))
        self._history = history[:, history.shape[1] - self._n_hist :]

    def _white(self, gps: int) -> np.ndarray:
        return np.stack([white_noise(self.seed, s, gps, self.n) for s in self.streams])

    def next(self) -> np.ndarray:
        """Coloured samples of GPS second :attr:`gps`, shape ``(channel, samples_per_second)``."""
        x = np.concatenate([self._history, self._white(self.gps)], axis=-1)
        y = sp_fft.irfft(sp_fft.rfft(x, self._nfft, axis=-1) * self._taps_fft, self._nfft, axis=-1)
        self._history = x[:, x.shape[1] - self._n_hist :]
        self.gps += 1
        return y[:, self._n_hist : self._n_hist + self.n]
