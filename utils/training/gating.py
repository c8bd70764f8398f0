"""Analysis-ready gating: which samples of a span may be trained on, split into train/validation.

Only samples whose state vector has bits 0 and 1 set (``ready``) are used. A non-ready
stretch splits the span into separate segments (windows, filters and scaler fits never
cross it); segments shorter than ``min_samples`` are dropped. The validation set is the
last ``valid_frac`` of the ready samples in time, as the anchor used the end of its span.
Segments are half-open ``(start, stop)`` sample indices.
"""

from __future__ import annotations

import numpy as np

Segment = tuple[int, int]


def ready_segments(ready: np.ndarray, min_samples: int = 1) -> list[Segment]:
    """Maximal runs of True in the per-sample mask ``ready`` at least ``min_samples`` long."""
    ready = np.asarray(ready, dtype=bool)
    if ready.ndim != 1:
        raise ValueError(f"analysis-ready mask has shape {ready.shape}; expected (samples,)")
    padded = np.concatenate([[False], ready, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    starts, stops = edges[::2], edges[1::2]
    return [(int(a), int(b)) for a, b in zip(starts, stops) if b - a >= min_samples]


def total_samples(segments: list[Segment]) -> int:
    return sum(stop - start for start, stop in segments)


def split_segments(
    segments: list[Segment], valid_frac: float
) -> tuple[list[Segment], list[Segment]]:
    """Split ``segments`` at the sample where the last ``valid_frac`` of their samples begins.

    Returns ``(train, valid)``; a segment straddling the split point is cut in two.
    ``valid_frac`` must lie in [0, 1).
    """
    if not 0.0 <= valid_frac < 1.0:
        raise ValueError(f"valid_frac is {valid_frac}; it must lie in [0, 1)")
    remaining = int(round(total_samples(segments) * valid_frac))
    train, valid = list(segments), []
    while remaining > 0 and train:
        start, stop = train.pop()
        length = stop - start
        if length <= remaining:
            valid.insert(0, (start, stop))
            remaining -= length
        else:
            train.append((start, stop - remaining))
            valid.insert(0, (stop - remaining, stop))
            remaining = 0
    return train, valid


def window_starts(segments: list[Segment], kernel_size: int, stride: int) -> np.ndarray:
    """Start indices of every ``kernel_size``-sample window placed every ``stride`` samples
    inside each segment (windows never cross a segment edge)."""
    if kernel_size < 1 or stride < 1:
        raise ValueError(
            f"kernel_size {kernel_size} and stride {stride} must be positive sample counts"
        )
    starts = [
        np.arange(a, b - kernel_size + 1, stride) for a, b in segments if b - a >= kernel_size
    ]
    return np.concatenate(starts).astype(np.int64) if starts else np.zeros(0, dtype=np.int64)
