"""Polyphase Lanczos upsampling by an integer factor, for slow channels.

``upsample(extended, factor, lobes)`` interpolates a span of ``n`` samples to ``n * factor``
samples with the Lanczos kernel ``L(x) = sinc(x) sinc(x / lobes)`` (|x| < lobes), weights
normalised per phase so a constant passes exactly. ``extended`` holds the span plus
``lobes - 1`` samples before it and ``lobes`` samples after it, so consecutive spans join
seamlessly. Output sample ``k * factor + p`` sits at input position ``k + p / factor``;
at ``p = 0`` the input sample is reproduced exactly.

For signals far below the input Nyquist frequency (ASC witnesses below ~3 Hz sampled at
512 Hz) the pass-band gain is 1 to better than 1e-6 and images are strongly suppressed.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@lru_cache(maxsize=16)
def lanczos_weights(factor: int, lobes: int) -> np.ndarray:
    """Weights ``(2 * lobes, factor)``: row m applies to input sample ``k + m - (lobes - 1)``."""
    if factor < 1 or lobes < 1:
        raise ValueError(f"factor {factor} and lobes {lobes} must be positive integers")
    phase = np.arange(factor) / factor
    offset = np.arange(2 * lobes)[:, None] - (lobes - 1)
    x = phase[None, :] - offset
    weights = np.sinc(x) * np.sinc(x / lobes)
    weights[np.abs(x) >= lobes] = 0.0
    weights = weights / weights.sum(axis=0, keepdims=True)
    weights.setflags(write=False)
    return weights


def upsample(extended: np.ndarray, factor: int, lobes: int = 3) -> np.ndarray:
    """Upsample the span inside ``extended`` (last axis) by ``factor``; see the module docstring."""
    extended = np.asarray(extended, dtype=np.float64)
    n = extended.shape[-1] - (2 * lobes - 1)
    if n < 1:
        raise ValueError(
            f"extended has {extended.shape[-1]} samples; need the span plus {lobes - 1} before and {lobes} after"
        )
    windows = sliding_window_view(extended, 2 * lobes, axis=-1)  # (..., n, 2 lobes)
    out = windows @ lanczos_weights(factor, lobes)  # (..., n, factor)
    return out.reshape(*extended.shape[:-1], n * factor)
