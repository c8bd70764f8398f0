"""Streaming inference geometry: window, stride, batch and lag in samples, for both stream modes
(:class:`StreamMode`), and DeepClean's constants they depend on (:data:`NETWORK_STRIDE`,
:data:`EDGE_LEFT`, :data:`EDGE_RIGHT`). The arithmetic that runs a stream with it is
:mod:`deepclean.utils.streaming`.

Pure numpy, no I/O, importable on its own (it depends on nothing but numpy and the standard
library, so it is copied as ``deepclean_stream_geometry.py`` next to a Triton python-backend
``model.py``, beside ``deepclean_streaming.py``).

Geometry, all in samples at one sample rate:

* ``kernel_size`` K: length of one network input window (1 s = 4096 samples in production);
* ``stride`` s: samples between the ends of consecutive windows;
* ``batch_size`` B: windows per update, so one update carries ``U = s*B`` new samples;
* ``num_updates`` n: the output lags the input by ``L = n*s`` samples (``lag_samples``).

Two modes (:class:`StreamMode`):

``windowed`` (the original system's): the snapshotter turns each update into B windows;
window ``i`` of an update that ends at absolute sample ``T`` ends at ``T - U + (i+1)*s``. The
averager places the last L samples (``max_latency`` seconds) of every window's prediction at
its place in time, divides by n and sums: in steady state every output sample is the mean of
exactly n predictions.

``contiguous``: DeepClean's total stride is :data:`NETWORK_STRIDE` (16) samples, so windows
``s`` samples apart fall into ``P = 16 / gcd(s, 16)`` phases, and inside a window every
prediction equals the prediction of its phase computed once over the contiguous stream.
Each update, the snapshotter cuts one stretch of ``input_size`` samples per phase (ending
``0, g, 2g, ...`` samples before the newest sample, ``g = gcd(s, 16)``) and the averager
emits the mean over phases. A prediction is final once :data:`EDGE_RIGHT` samples to its
right have arrived and :data:`EDGE_LEFT` to its left are inside the stretch (DeepClean's
receptive field beyond which the zero padding at a stretch's edges reaches, measured for
stretches of a multiple of 16 samples; ``tests/utils/nn/test_inference_modes.py`` measures
them again), so the lag is ``EDGE_RIGHT + 16 - g`` rounded up to a whole stride (104
samples, 25 ms, for s = 8 at 4096 Hz, instead of ``max_latency``). Each window's prediction
equals its phase's contiguous pass wherever the window's zero padding does not reach (all
but its first EDGE_LEFT and last EDGE_RIGHT samples); at the production geometry an update
runs DeepClean over 2 x 1216 samples instead of 128 x 4096.

Both modes: after an update ending at sample ``T`` the averager emits samples
``[T - U - L, T - L)``: the output lags the input by ``L`` samples. The stream starts from
zeros, so the first ``L + K`` output samples of a stream are warm-up (in the contiguous
mode only the first ``L + EDGE_LEFT`` are, but both are counted alike).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

import numpy as np

NETWORK_STRIDE = (
    16  #: samples: DeepClean's four stride-2 stages; its input length must be a multiple
)
EDGE_LEFT = (
    81  #: samples at the start of a DeepClean pass (multiple of 16 long) its zero padding changes
)
EDGE_RIGHT = (
    96  #: samples at the end of a DeepClean pass (multiple of 16 long) its zero padding changes
)


class StreamMode(str, Enum):
    """How DeepClean is run over the stream."""

    WINDOWED = (
        "windowed"  #: overlapping windows of kernel_size, averaged over max_latency (the original)
    )
    CONTIGUOUS = (
        "contiguous"  #: one pass per phase over a contiguous stretch, lag of the receptive field
    )


def as_stream_mode(value: object, name: str) -> StreamMode:
    """``value`` as a :class:`StreamMode`; ``ValueError`` naming the setting ``name``, the value
    and the modes allowed."""
    try:
        return StreamMode(value)
    except ValueError:
        raise ValueError(
            f"{name} {value!r} is not one of {[m.value for m in StreamMode]}"
        ) from None


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


@dataclass(frozen=True)
class StreamGeometry:
    """Window and averaging geometry of a stream, in samples."""

    kernel_size: int  #: samples per window (K)
    stride: int  #: samples between consecutive window ends (s)
    batch_size: int  #: windows per update (B)
    num_updates: int  #: output lag in strides (n); windowed: predictions averaged per output sample
    mode: StreamMode = StreamMode.WINDOWED

    def __post_init__(self) -> None:
        for name in ("kernel_size", "stride", "batch_size", "num_updates"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(
                    f"{name} must be a positive whole number of samples/windows, got {value!r}"
                )
        object.__setattr__(self, "mode", as_stream_mode(self.mode, "stream mode"))
        if self.lag_samples > self.kernel_size and self.mode is StreamMode.CONTIGUOUS:
            raise ValueError(
                f"the contiguous stream mode lags by {self.lag_samples} samples "
                "(DeepClean's reach to the right, "
                f"rounded up to the stride of {self.stride}), more than kernel_size "
                f"{self.kernel_size} samples; "
                "allowed: a kernel at least that long, or the windowed stream mode"
            )
        if self.lag_samples > self.kernel_size:
            raise ValueError(
                f"num_updates*stride = {self.lag_samples} samples exceeds kernel_size "
                f"{self.kernel_size}: "
                "a window cannot contribute more samples than it has"
            )
        if self.mode is StreamMode.CONTIGUOUS and self.lag_samples < self.min_lag(self.stride):
            raise ValueError(
                f"contiguous lag num_updates*stride = {self.lag_samples} samples is "
                "shorter than the "
                f"{self.min_lag(self.stride)} samples that keep every output final at "
                f"stride {self.stride}"
            )

    @property
    def update_size(self) -> int:
        """New samples per update (``stride * batch_size``)."""
        return self.stride * self.batch_size

    @property
    def lag_samples(self) -> int:
        """Samples by which the output lags the input (``num_updates * stride``)."""
        return self.num_updates * self.stride

    @staticmethod
    def min_lag(stride: int) -> int:
        """Contiguous mode: the smallest lag keeping every emitted sample final (``EDGE_RIGHT + 16 -
        g``)."""
        return EDGE_RIGHT + NETWORK_STRIDE - math.gcd(stride, NETWORK_STRIDE)

    @property
    def phase_offsets(self) -> tuple[int, ...]:
        """Contiguous mode: samples between the newest sample and the end of each phase's
        stretch."""
        step = math.gcd(self.stride, NETWORK_STRIDE)
        return tuple(range(0, NETWORK_STRIDE, step))

    @property
    def model_batch(self) -> int:
        """Network inputs per update: B windows, or one stretch per phase."""
        return self.batch_size if self.mode is StreamMode.WINDOWED else len(self.phase_offsets)

    @property
    def input_size(self) -> int:
        """Samples per network input: K, or the contiguous stretch (update + lag + left edge, to
        16)."""
        if self.mode is StreamMode.WINDOWED:
            return self.kernel_size
        return _round_up(self.update_size + self.lag_samples + EDGE_LEFT, NETWORK_STRIDE)

    @property
    def history(self) -> int:
        """Past samples the snapshotter keeps per channel."""
        if self.mode is StreamMode.WINDOWED:
            return self.kernel_size - self.stride
        return self.input_size + self.phase_offsets[-1] - self.update_size

    def parameters(self) -> dict[str, object]:
        """The geometry as the config parameters of the snapshotter and the aggregators
        (:meth:`from_parameters` reads them back inside the Triton server)."""
        return {
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "batch_size": self.batch_size,
            "num_updates": self.num_updates,
            "mode": self.mode.value,
        }

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, str]) -> StreamGeometry:
        """The geometry from a python-backend model's config parameters (strings, as
        :meth:`parameters` wrote them; ``num_updates`` 1 and the windowed mode when absent)."""
        return cls(
            kernel_size=int(parameters["kernel_size"]),
            stride=int(parameters["stride"]),
            batch_size=int(parameters["batch_size"]),
            num_updates=int(parameters.get("num_updates", "1")),
            mode=parameters.get("mode", StreamMode.WINDOWED.value),
        )

    @classmethod
    def from_seconds(
        cls,
        *,
        kernel_length: float,
        stride_length: float,
        sample_rate: float,
        batch_size: int,
        max_latency: float | None,
        mode: StreamMode | str = StreamMode.WINDOWED,
    ) -> StreamGeometry:
        """Geometry from physical quantities.

        Args:
            kernel_length: window length, seconds (1.0 in production).
            stride_length: time between window ends, seconds (e.g. 1/512).
            sample_rate: Hz (4096).
            batch_size: windows per update.
            max_latency: windowed mode: seconds of each window's prediction that are averaged;
                the output lags by ``stride_length * (max_latency // stride_length)`` seconds.
                Contiguous mode: ignored (the lag is :meth:`min_lag` rounded up to a stride).
            mode: :class:`StreamMode` (default windowed).
        """
        mode = StreamMode(mode)
        kernel_size = _whole(kernel_length * sample_rate, "kernel_length * sample_rate")
        stride = _whole(stride_length * sample_rate, "stride_length * sample_rate")
        if kernel_size % stride:
            raise ValueError(
                f"kernel_length {kernel_length} s is not a multiple of stride_length "
                f"{stride_length} s"
            )
        if mode is StreamMode.CONTIGUOUS:
            num_updates = -(-cls.min_lag(stride) // stride)
        else:
            if max_latency is None:
                raise ValueError("the windowed stream mode needs max_latency (seconds)")
            num_updates = int(round(max_latency * sample_rate)) // stride
            if num_updates < 1:
                raise ValueError(
                    f"max_latency {max_latency} s is shorter than one stride ({stride_length} s)"
                )
        return cls(
            kernel_size=kernel_size,
            stride=stride,
            batch_size=int(batch_size),
            num_updates=num_updates,
            mode=mode,
        )


def _whole(value: float, what: str) -> int:
    rounded = int(round(value))
    if rounded < 1 or abs(value - rounded) > 1e-6:
        raise ValueError(f"{what} = {value} is not a positive whole number of samples")
    return rounded
