"""The OUT_DQ gate: subtract the noise only while cleaning demonstrably helps.

As the original DeepClean cleaner: the last ``buffer_seconds`` (8) seconds of raw and of
cleaned strain are kept; after each second the mean over the cleaning band of the ratio
ASD(cleaned) / ASD(raw) is computed (Welch, Hann, ``fftlength`` 2 s, half overlap, median
average, as gwpy's ``asd(2, method="median")``). The gate starts *out of spec* (0: OUT_DQ is
raw). When out of spec and the ratio is below 1, the noise is tapered in over the first
``taper`` (1 s: the whole second) of the current second with a rising half Hann window; when
in spec and the ratio is above 1, it is tapered out over the last ``taper`` of it. The decision for
a second uses that second's data (no look-ahead), so the gate costs no latency.

A second without a trustworthy noise estimate (``valid=False``: Triton unreachable, warm-up,
witnesses missing) puts the gate out of spec at once (OUT_DQ is raw for it) and is not added
to the buffer; the next valid second is decided with the buffer as it was, so cleaning is
tapered back in at once after a short outage if the ratio says so. After more than
``buffer_seconds`` invalid seconds in a row the buffer is emptied (its data are stale), and
the gate waits for ``min_seconds`` of valid data again.
Pure numpy/scipy; no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deepclean.utils.frames.taper import rising_half_hann, taper_samples
from deepclean.utils.signal.filters import band_mask
from deepclean.utils.signal.welch import Average, welch_psd

DEFAULT_BUFFER_S = 8  #: seconds of raw/cleaned strain the ratio is computed over
DEFAULT_MIN_S = 4  #: seconds of valid data needed before the first decision
DEFAULT_FFTLENGTH_S = 2.0  #: Welch segment length, seconds
DEFAULT_TAPER_S = 1.0  #: taper in/out length, seconds


def median_asd_ratio(
    clean: np.ndarray,
    raw: np.ndarray,
    sample_rate: float,
    bands: Sequence[tuple[float, float]],
    fftlength: float,
) -> float:
    """Mean over the bins inside ``bands`` of ASD(clean) / ASD(raw), median-averaged Welch ASDs."""
    freqs, p_clean = welch_psd(clean, sample_rate, fftlength, Average.MEDIAN)
    _, p_raw = welch_psd(raw, sample_rate, fftlength, Average.MEDIAN)
    mask = band_mask(freqs, bands)
    if not mask.any():
        raise ValueError(
            f"no frequency bin (resolution {1 / fftlength} Hz) inside bands {list(bands)}"
        )
    return float(np.mean(np.sqrt(p_clean[mask] / np.maximum(p_raw[mask], np.finfo(float).tiny))))


@dataclass(frozen=True)
class GateSecond:
    """The gate of one second."""

    gate: np.ndarray  #: ``(samples,)`` in [0, 1]: the fraction of the noise OUT_DQ subtracts
    ratio: float | None  #: in-band ASD ratio cleaned/raw over the buffer (None: no decision)
    in_spec: bool  #: state after this second


class OutDqGate:
    """The per-second OUT_DQ gate (see the module docstring).

    Args:
        sample_rate: Hz.
        bands: ``(low, high)`` Hz over which the ratio is averaged (the reported cleaning band).
        buffer_seconds: seconds of history in the ratio (default 8).
        min_seconds: valid seconds needed before a decision (default 4, <= buffer_seconds).
        taper_seconds: taper length, 0 < t <= 1 s (default 1).
        fftlength: Welch segment length, seconds (default 2; <= min_seconds).
    """

    def __init__(
        self,
        sample_rate: float,
        bands: Sequence[tuple[float, float]],
        *,
        buffer_seconds: int = DEFAULT_BUFFER_S,
        min_seconds: int = DEFAULT_MIN_S,
        taper_seconds: float = DEFAULT_TAPER_S,
        fftlength: float = DEFAULT_FFTLENGTH_S,
    ) -> None:
        if not 1 <= min_seconds <= buffer_seconds:
            raise ValueError(
                f"min_seconds {min_seconds} must be in [1, buffer_seconds={buffer_seconds}]"
            )
        if not 0 < fftlength <= min_seconds:
            raise ValueError(
                f"fftlength {fftlength} s must be positive and <= min_seconds {min_seconds} s"
            )
        self.sample_rate = float(sample_rate)
        self.n = int(round(sample_rate))
        self.bands = [tuple(map(float, b)) for b in bands]
        self.min_seconds = int(min_seconds)
        self.fftlength = float(fftlength)
        self.rising = np.ones(self.n)
        taper = taper_samples(taper_seconds, sample_rate)
        self.rising[:taper] = rising_half_hann(taper)
        self.in_spec = False
        self.invalid_run = 0  #: consecutive invalid seconds
        self._raw: deque[np.ndarray] = deque(maxlen=int(buffer_seconds))
        self._clean: deque[np.ndarray] = deque(maxlen=int(buffer_seconds))

    def reset(self) -> None:
        """Out of spec with an empty buffer (as at the start)."""
        self.in_spec = False
        self.invalid_run = 0
        self._raw.clear()
        self._clean.clear()

    def set_bands(self, bands: Sequence[tuple[float, float]]) -> None:
        """Average the ratio over other bands from now on (e.g. after a promotion)."""
        self.bands = [tuple(map(float, b)) for b in bands]

    def push(self, raw: np.ndarray, clean: np.ndarray, valid: bool = True) -> GateSecond:
        """Gate of the next second from its raw and fully cleaned strain (``(sample_rate,)``
        each)."""
        raw, clean = np.asarray(raw, dtype=np.float64), np.asarray(clean, dtype=np.float64)
        if raw.shape != (self.n,) or clean.shape != (self.n,):
            raise ValueError(
                f"raw {raw.shape} and clean {clean.shape} must both hold one second ({self.n},)"
            )
        if not valid:
            self.in_spec = False
            self.invalid_run += 1
            if self.invalid_run > self._raw.maxlen:
                self.reset()
            return GateSecond(np.zeros(self.n), None, False)
        self.invalid_run = 0
        self._raw.append(raw)
        self._clean.append(clean)
        if len(self._raw) < self.min_seconds:
            return GateSecond(np.zeros(self.n), None, False)
        ratio = median_asd_ratio(
            np.concatenate(self._clean),
            np.concatenate(self._raw),
            self.sample_rate,
            self.bands,
            self.fftlength,
        )
        was = self.in_spec
        if was and ratio > 1:
            self.in_spec = False
            gate = self.rising[::-1].copy()
        elif not was and ratio < 1:
            self.in_spec = True
            gate = self.rising.copy()
        else:
            gate = np.full(self.n, 1.0 if was else 0.0)
        return GateSecond(gate, ratio, self.in_spec)
