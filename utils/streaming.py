"""Streaming windowing and online averaging: the arithmetic behind the snapshotter and aggregator.

Pure numpy, no I/O, importable on its own (it depends on nothing but numpy, so it can be
copied next to a Triton python-backend ``model.py``). The offline cleaner, the Triton
models and the tests all run these same classes, so streaming and offline numbers agree.

Geometry, all in samples at one sample rate:

* ``kernel_size`` K: length of one network input window (1 s = 4096 samples in production);
* ``stride`` s: samples between the ends of consecutive windows;
* ``batch_size`` B: windows per update, so one update carries ``U = s*B`` new samples;
* ``num_updates`` n: windows averaged for every output sample; the averager keeps the last
  ``L = n*s`` samples (``max_latency`` seconds) of each window's prediction.

The snapshotter turns each update into B windows; window ``i`` of an update that ends at
absolute sample ``T`` ends at ``T - U + (i+1)*s``. The averager places the last L samples of
every window's prediction at its place in time, divides by n and sums: in steady state
every output sample is the mean of exactly n predictions. After an update ending at sample
``T`` it emits samples ``[T - U - L, T - L)``: the output lags the input by ``L`` samples
(``stride_length * num_updates`` seconds). The first ``L + K`` output samples of a stream
are warm-up (they average windows that still hold the initial zeros, or fewer than n
predictions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StreamGeometry:
    """Window and averaging geometry of a stream, in samples."""

    kernel_size: int  #: samples per window (K)
    stride: int  #: samples between consecutive window ends (s)
    batch_size: int  #: windows per update (B)
    num_updates: int  #: predictions averaged per output sample (n)

    def __post_init__(self) -> None:
        for name in ("kernel_size", "stride", "batch_size", "num_updates"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive whole number of samples/windows, got {value!r}")
        if self.lag_samples > self.kernel_size:
            raise ValueError(
                f"num_updates*stride = {self.lag_samples} samples exceeds kernel_size {self.kernel_size}: "
                "a window cannot contribute more samples than it has"
            )

    @property
    def update_size(self) -> int:
        """New samples per update (``stride * batch_size``)."""
        return self.stride * self.batch_size

    @property
    def lag_samples(self) -> int:
        """Samples by which the averaged output lags the input (``num_updates * stride``)."""
        return self.num_updates * self.stride

    @classmethod
    def from_seconds(
        cls,
        *,
        kernel_length: float,
        stride_length: float,
        sample_rate: float,
        batch_size: int,
        max_latency: float,
    ) -> "StreamGeometry":
        """Geometry from physical quantities.

        Args:
            kernel_length: window length, seconds (1.0 in production).
            stride_length: time between window ends, seconds (e.g. 1/512).
            sample_rate: Hz (4096).
            batch_size: windows per update.
            max_latency: seconds of each window's prediction that are averaged; the output
                lags by ``stride_length * (max_latency // stride_length)`` seconds.
        """
        kernel_size = _whole(kernel_length * sample_rate, "kernel_length * sample_rate")
        stride = _whole(stride_length * sample_rate, "stride_length * sample_rate")
        if kernel_size % stride:
            raise ValueError(
                f"kernel_length {kernel_length} s is not a multiple of stride_length {stride_length} s"
            )
        num_updates = int(round(max_latency * sample_rate)) // stride
        if num_updates < 1:
            raise ValueError(f"max_latency {max_latency} s is shorter than one stride ({stride_length} s)")
        return cls(kernel_size=kernel_size, stride=stride, batch_size=int(batch_size), num_updates=num_updates)


def _whole(value: float, what: str) -> int:
    rounded = int(round(value))
    if rounded < 1 or abs(value - rounded) > 1e-6:
        raise ValueError(f"{what} = {value} is not a positive whole number of samples")
    return rounded


class Snapshotter:
    """Keeps the last ``K - s`` samples of every channel and cuts each update into B windows."""

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
        """Take ``x`` of shape ``(channels, stride*batch)``; return windows ``(batch, channels, kernel)``."""
        g = self.geometry
        expected = (self.num_channels, g.update_size)
        if x.shape != expected:
            raise ValueError(f"snapshotter update has shape {x.shape}, expected (channels, samples) = {expected}")
        if self._state is None:
            self._state = np.zeros((self.num_channels, g.kernel_size - g.stride), dtype=x.dtype)
        full = np.concatenate([self._state, x], axis=-1)
        views = np.lib.stride_tricks.sliding_window_view(full, g.kernel_size, axis=-1)[:, :: g.stride]
        windows = np.ascontiguousarray(views.transpose(1, 0, 2))
        self._state = full[:, full.shape[-1] - (g.kernel_size - g.stride) :].copy()
        return windows


class OnlineAverager:
    """Averages the last ``n*s`` samples of overlapping window predictions into one stream."""

    def __init__(self, geometry: StreamGeometry) -> None:
        self.geometry = geometry
        self._state: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the stream: partial sums are dropped."""
        self._state = None

    def update(self, predictions: np.ndarray) -> np.ndarray:
        """Take ``(batch, kernel)`` predictions; return the next ``stride*batch`` averaged samples."""
        g = self.geometry
        expected = (g.batch_size, g.kernel_size)
        if predictions.shape != expected:
            raise ValueError(f"averager update has shape {predictions.shape}, expected (batch, kernel) = {expected}")
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
"""Maps windows ``(batch, channels, kernel)`` to predictions ``(batch, kernel)``."""


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
        windows = snapshotter.update(x[:, start : start + geometry.update_size])
        out.append(averager.update(np.asarray(predict(windows))))
    return np.concatenate(out) if out else np.zeros(0, dtype=x.dtype)


def align(streamed: np.ndarray, geometry: StreamGeometry) -> np.ndarray:
    """Drop the lag: element ``k`` of the result estimates input sample ``k`` (length shrinks by the lag)."""
    return streamed[geometry.lag_samples :]
