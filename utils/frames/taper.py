"""Dropped-frame handling without look-ahead: fade out inside the gap, taper back in after it.

The production DeepClean cleaner tapered the second *before* a dropped one, which needs one
second of look-ahead (the drop is known only after that second). Here nothing already received
is altered: the dropped second is filled with the mirror image of the ``taper`` samples just
before it (the last sample first, so the stream stays continuous) under a falling half Hann
window, then zeros; the first ``taper`` samples after it are multiplied by a rising half Hann
window. The stream therefore has no step for the resampler and the network to ring on, and a
streaming consumer can fill a dropped second as soon as it is declared dropped. The windows are
the halves of ``np.hanning(2 * taper)``. Pure numpy; no I/O.
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
    """Join consecutive 1-s pieces of one channel, filling and tapering around gaps.

    ``seconds`` holds each second's samples, or None for a dropped second. A dropped second
    after data is :func:`fade_out` of the data before it; a dropped second after another one
    (or at the start) is zeros; the data just after a dropped second are tapered in over
    ``taper`` samples. Returns ``(data, tapered)``: the joined float64 samples and a per-second
    flag, True for seconds that were dropped or tapered in (not the detector's data). A gap's
    neighbours outside ``seconds`` are unknown, so a caller working through a window should
    include one second of context each side.
    """
    if not 0 <= taper <= samples_per_second:
        raise ValueError(
            f"taper {taper} samples must be within one second ({samples_per_second} samples)"
        )
    out = np.zeros(len(seconds) * samples_per_second)
    touched = np.zeros(len(seconds), dtype=bool)
    for i, piece in enumerate(seconds):
        chunk = out[i * samples_per_second : (i + 1) * samples_per_second]
        before = seconds[i - 1] if i > 0 else None
        if piece is None:
            touched[i] = True
            if before is not None:
                chunk[:] = fade_out(
                    out[(i - 1) * samples_per_second : i * samples_per_second], taper
                )
            continue
        chunk[:] = check_second(piece, samples_per_second, f"second {i}")
        if i > 0 and before is None:
            chunk[:] = taper_in(chunk, taper)
            touched[i] = True
    return out, touched


def check_second(piece: np.ndarray, samples_per_second: int, what: str) -> np.ndarray:
    """``piece`` as float64, checked to hold one second of samples."""
    piece = np.asarray(piece, dtype=np.float64)
    if piece.shape != (samples_per_second,):
        raise ValueError(f"{what} holds {piece.shape} samples, expected ({samples_per_second},)")
    return piece


def fade_out(previous: np.ndarray, taper: int) -> np.ndarray:
    """The fill of a dropped second after ``previous`` (the second before it, as streamed): its
    last ``taper`` samples mirrored (last first) under a falling half Hann window, then zeros."""
    fill = np.zeros(len(previous))
    if taper:
        fill[:taper] = previous[::-1][:taper] * rising_half_hann(taper)[::-1]
    return fill


def taper_in(piece: np.ndarray, taper: int) -> np.ndarray:
    """``piece`` (the second after a dropped one) with its first ``taper`` samples tapered in."""
    out = np.array(piece, dtype=np.float64)
    if taper:
        out[:taper] *= rising_half_hann(taper)
    return out
