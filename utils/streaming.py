"""Streaming inference arithmetic: the snapshotter and aggregator of both stream modes.

Pure numpy, no I/O, importable on its own (it depends on nothing but numpy, the standard
library and :mod:`deepclean.utils.stream_geometry`, so both are copied next to a Triton
python-backend ``model.py``: :mod:`deepclean.utils.triton.python_models`). The offline
cleaner, the training-time validation, the Triton models and the tests all run these same
classes, so streaming and offline numbers agree. The geometry (window, stride, batch, lag,
the two stream modes) is described in :mod:`deepclean.utils.stream_geometry` and re-exported
here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from deepclean.utils.stream_geometry import (
    EDGE_LEFT,
    EDGE_RIGHT,
    NETWORK_STRIDE,
    StreamGeometry,
    StreamMode,
    as_stream_mode,
)

__all__ = [
    "EDGE_LEFT",
    "EDGE_RIGHT",
    "NETWORK_STRIDE",
    "OnlineAverager",
    "Predictor",
    "Snapshotter",
    "StreamGeometry",
    "StreamMode",
    "align",
    "as_stream_mode",
    "stream",
]


class Snapshotter:
    """Keeps the last :attr:`StreamGeometry.history` samples of every channel and cuts each update
    into the network's inputs: B windows (windowed), or one stretch per phase (contiguous)."""

    def __init__(self, num_channels: int, geometry: StreamGeometry) -> None:
        if num_channels < 1:
            raise ValueError(f"num_channels must be >= 1, got {num_channels}")
        self.num_channels = num_channels
        self.geometry = geometry
        self._state: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the stream: the next update starts from zeros."""
        self._state = None

    def update(self, x: np.ndarray) -> np.ndarray:
        """Take ``x`` of shape ``(channels, stride*batch)``; return ``(model_batch, channels,
        input_size)``."""
        g = self.geometry
        expected = (self.num_channels, g.update_size)
        if x.shape != expected:
            raise ValueError(
                f"snapshotter update has shape {x.shape}, expected (channels, samples) = {expected}"
            )
        if self._state is None:
            self._state = np.zeros((self.num_channels, g.history), dtype=x.dtype)
        full = np.concatenate([self._state, x], axis=-1)
        end = full.shape[-1]
        if g.mode is StreamMode.WINDOWED:
            views = np.lib.stride_tricks.sliding_window_view(full, g.kernel_size, axis=-1)[
                :, :: g.stride
            ]
            inputs = np.ascontiguousarray(views.transpose(1, 0, 2))
        else:
            m = g.input_size
            inputs = np.stack([full[:, end - o - m : end - o] for o in g.phase_offsets])
        self._state = full[:, end - g.history :].copy()
        return inputs


class OnlineAverager:
    """Turns each update's predictions into the next ``stride*batch`` output samples.

    Windowed: averages the last ``n*s`` samples of overlapping window predictions (keeps
    partial sums). Contiguous: the mean over phases of the final part of each stretch's
    prediction (no state).
    """

    def __init__(self, geometry: StreamGeometry) -> None:
        self.geometry = geometry
        self._state: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the stream: partial sums are dropped."""
        self._state = None

    def update(self, predictions: np.ndarray) -> np.ndarray:
        """Take ``(model_batch, input_size)`` predictions; return the next ``stride*batch``
        samples."""
        g = self.geometry
        expected = (g.model_batch, g.input_size)
        if predictions.shape != expected:
            raise ValueError(
                f"averager update has shape {predictions.shape}, expected (batch, samples) "
                f"= {expected}"
            )
        if g.mode is StreamMode.CONTIGUOUS:
            # stretch j ends o_j samples before the newest one; emit [T - U - L, T - L)
            first = g.input_size - g.update_size - g.lag_samples
            parts = [
                predictions[j, first + o : first + o + g.update_size]
                for j, o in enumerate(g.phase_offsets)
            ]
            return np.mean(parts, axis=0).astype(predictions.dtype, copy=False)
        lag, s, n, b = g.lag_samples, g.stride, g.num_updates, g.batch_size
        if self._state is None:
            self._state = np.zeros(lag, dtype=predictions.dtype)
        # blocks of s samples: the tail of window i (n blocks) lands on blocks i+1 .. i+n
        tails = (predictions[:, -lag:] / n).reshape(b, n, s)
        blocks = np.zeros((b + n, s), dtype=predictions.dtype)
        blocks[:n] = self._state.reshape(n, s)
        if b <= n:
            for i in range(b):
                blocks[i + 1 : i + 1 + n] += tails[i]
        else:
            for j in range(n):
                blocks[j + 1 : j + 1 + b] += tails[:, j]
        flat = blocks.reshape(-1)
        self._state = flat[b * s :].copy()
        return flat[: b * s].copy()


Predictor = Callable[[np.ndarray], np.ndarray]
"""Maps network inputs ``(batch, channels, samples)`` to predictions ``(batch, samples)``."""


def stream(x: np.ndarray, predict: Predictor, geometry: StreamGeometry) -> np.ndarray:
    """Run a whole span through snapshotter -> ``predict`` -> averager, update by update.

    ``x`` has shape ``(channels, samples)`` with ``samples`` a multiple of the update size.
    Returns the raw streamed output, ``samples`` long: element ``k`` is the noise estimate
    for input sample ``k - geometry.lag_samples`` (see :func:`align`).
    """
    if x.ndim != 2 or x.shape[1] % geometry.update_size:
        raise ValueError(
            f"input of shape {x.shape} must be (channels, samples) with samples a multiple of the "
            f"update size {geometry.update_size}"
        )
    snapshotter = Snapshotter(x.shape[0], geometry)
    averager = OnlineAverager(geometry)
    out = []
    for start in range(0, x.shape[1], geometry.update_size):
        inputs = snapshotter.update(x[:, start : start + geometry.update_size])
        out.append(averager.update(np.asarray(predict(inputs))))
    return np.concatenate(out) if out else np.zeros(0, dtype=x.dtype)


def align(streamed: np.ndarray, geometry: StreamGeometry) -> np.ndarray:
    """Drop the lag: element ``k`` of the result estimates input sample ``k`` (length shrinks by the
    lag)."""
    return streamed[geometry.lag_samples :]
