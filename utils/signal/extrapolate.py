"""Linear-prediction (autoregressive) extrapolation of a record past its last sample.

The live cleaner band-passes the noise estimate with a zero-phase filter whose backward pass
starts at the live edge, ``filter_lead`` past the second it returns; its start-up transient
reaches back into that second. The noise in the cleaning band is a mains line with slow
modulations, which an autoregressive model fitted to the last seconds predicts well, so the
record is continued by prediction first and the transient starts that much later
(:func:`deepclean.utils.signal.postprocess.filter_noise`). No future data is used.

The model is fitted with Burg's method (minimum phase by construction: every reflection
coefficient has magnitude ≤ 1, so the prediction cannot grow without bound).
"""

from __future__ import annotations

import numpy as np
from scipy import signal


def burg_coefficients(x: np.ndarray, order: int) -> np.ndarray:
    """Prediction-error filter ``a`` (``(order,)``) of ``x`` (``(time,)``) by Burg's method:
    ``x[t] ≈ -(a[0] x[t-1] + ... + a[order-1] x[t-order])``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or not 0 < order < x.size:
        raise ValueError(
            f"autoregressive order {order} for a record of shape {x.shape}; need a (time,) "
            "record longer than the order, and order >= 1"
        )
    forward, backward = x.copy(), x.copy()
    a = np.zeros(0)
    for m in range(order):
        f, b = forward[m + 1 :], backward[m:-1]
        energy = np.dot(f, f) + np.dot(b, b)
        k = -2.0 * np.dot(f, b) / energy if energy > 0 else 0.0
        a = np.concatenate([a + k * a[::-1], [k]])
        forward[m + 1 :], backward[m + 1 :] = f + k * b, b + k * f
    return a


def extrapolate(x: np.ndarray, samples: int, order: int) -> np.ndarray:
    """The ``samples`` values following ``x`` (``(time,)``) predicted by an autoregressive model
    of ``order`` fitted to all of ``x`` (float64, ``(samples,)``)."""
    x = np.asarray(x, dtype=np.float64)
    if samples < 0:
        raise ValueError(f"samples to extrapolate is {samples}; it must be >= 0")
    a = burg_coefficients(x, order)
    denominator = np.concatenate([[1.0], a])
    state = signal.lfiltic([1.0], denominator, x[::-1][:order])
    predicted, _ = signal.lfilter([1.0], denominator, np.zeros(samples), zi=state)
    return predicted
