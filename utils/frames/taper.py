"""Dropped-frame handling: taper out before a gap, zeros in the gap, taper back in after it.

As the production DeepClean cleaner did: the ``taper`` samples of data just before a
dropped second are multiplied by a falling half Hann window, the dropped second is
zeros, and the first ``taper`` samples after it by a rising half Hann window, so the
stream has no step for the resampler and the network to ring on. The windows are the
halves of ``np.hanning(2 * taper)``. Pure numpy; no I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

DEFAULT_TAPER_SECONDS = 1.0  #: taper length of the production cleaner, seconds


@functools.lru_cache(maxsize=32)
def rising_half_hann(taper: int) -> np.ndarray:
    """The first half of a ``2 * taper``-sample Hann window: 0 up to ~1 over ``taper`` samples
    (read-only)."""
    if taper < 0:
        raise ValueError(f"taper length {taper} samples must not be negative")
    window = np.hanning(2 * taper)[:taper]
    window.setflags(write=False)
    return window


def taper_samples(taper_seconds: float, sample_rate: float) -> int:
    """Samples in a taper of ``taper_seconds`` (0 < t <= 1 s) at ``sample_rate`` Hz."""
    if not 0 < taper_seconds <= 1:
        raise ValueError(
            f"taper length {taper_seconds} s must be in (0, 1] (it stays inside the "
            "adjacent second)"
        )
    return int(round(taper_seconds * sample_rate))


def fill_gaps(
    seconds: Sequence[np.ndarray | None], samples_per_second: int, taper: int
) -> tuple[np.ndarray, np.ndarray]:
    """Join consecutive 1-s pieces of one channel, zero-filling and tapering around gaps.

    ``seconds`` holds each second's samples, or None for a dropped second. The data just
    before a dropped second are tapered out over ``taper`` samples, the dropped second is
    zeros and the data just after it are tapered in. Returns ``(data, tapered)``: the
    joined float64 samples and a per-second flag, True for seconds that were dropped or
    tapered (not trustworthy data). A gap's neighbours outside ``seconds`` are unknown, so
    a caller streaming through a window should include one second of context each side.
    """
    if not 0 <= taper <= samples_per_second:
        raise ValueError(
            f"taper {taper} samples must be within one second ({samples_per_second} samples)"
        )
    out = np.zeros(len(seconds) * samples_per_second)
    touched = np.zeros(len(seconds), dtype=bool)
    rising = rising_half_hann(taper)
    for i, piece in enumerate(seconds):
        if piece is None:
            touched[i] = True
            continue
        piece = np.asarray(piece, dtype=np.float64)
        if piece.shape != (samples_per_second,):
            raise ValueError(
                f"second {i} holds {piece.shape} samples, expected ({samples_per_second},)"
            )
        chunk = out[i * samples_per_second : (i + 1) * samples_per_second]
        chunk[:] = piece
        if taper and i > 0 and seconds[i - 1] is None:
            chunk[:taper] *= rising
            touched[i] = True
        if taper and i + 1 < len(seconds) and seconds[i + 1] is None:
            chunk[samples_per_second - taper :] *= rising[::-1]
            touched[i] = True
    return out, touched
