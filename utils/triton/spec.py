"""What the streaming models need to know about the data, and the aggregators that follow from
it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from deepclean.utils.streaming import StreamGeometry, StreamMode, as_stream_mode
from deepclean.utils.triton.names import GEOMETRY_PARAMETERS, STREAM_MODE, Role


@dataclass(frozen=True)
class StreamSpec:
    """What the streaming models need to know about the data.

    Args:
        channels: strain channel first, then the W witness channels, in the network's order.
        sample_rate: Hz (4096).
        kernel_length: seconds of data per DeepClean window (1.0).
        stride_length: seconds between consecutive windows (1/512 in production).
        batch_size: windows per update, so an update holds ``stride_length * batch_size`` s.
        max_latencies: windowed mode: seconds of each prediction averaged, one aggregator pair per
            value; the output lags by ``stride_length * (max_latency // stride_length)`` s.
            Contiguous mode: replaced by the one lag the mode needs, in seconds (one pair).
        streams: sequences served at once (instances of the snapshotter and of each aggregator).
        sequence_idle_timeout: seconds after which Triton frees the slot of a silent sequence.
        parameters: extra ensemble config parameters (e.g. the training span).
        stream_mode: how DeepClean runs over the stream (:class:`StreamMode`; windowed: B
            overlapping windows per update, contiguous: one stretch per phase).
    """

    channels: tuple[str, ...]
    sample_rate: float
    kernel_length: float
    stride_length: float
    batch_size: int
    max_latencies: tuple[float, ...] = (0.5,)
    streams: int = 1
    sequence_idle_timeout: float = 60.0
    parameters: Mapping[str, object] = field(default_factory=dict)
    stream_mode: StreamMode = StreamMode.WINDOWED

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "max_latencies", tuple(self.max_latencies))
        object.__setattr__(self, "stream_mode", as_stream_mode(self.stream_mode, "stream_mode"))
        if (
            self.stream_mode is StreamMode.CONTIGUOUS
        ):  # the lag follows from the network, in seconds
            lag = self.geometry(0.0).lag_samples
            object.__setattr__(self, "max_latencies", (lag / self.sample_rate,))
        if len(self.channels) < 2:
            raise ValueError(
                f"channels must name the strain and at least one witness, got {list(self.channels)}"
            )
        if not isinstance(self.streams, int) or self.streams < 1:
            raise ValueError(f"streams must be a whole number >= 1, got {self.streams!r}")
        if not self.max_latencies:
            raise ValueError("max_latencies must hold at least one value (seconds)")
        if not self.sequence_idle_timeout > 0:
            raise ValueError(
                f"sequence_idle_timeout must be > 0 s, got {self.sequence_idle_timeout}"
            )
        tags = [_latency_tag(latency) for latency in self.max_latencies]
        if len(set(tags)) != len(tags):
            raise ValueError(
                f"max_latencies {list(self.max_latencies)} repeat a value (to the millisecond)"
            )
        for latency in self.max_latencies:
            self.geometry(latency)  # raises ValueError naming the bad quantity

    def geometry_parameters(self) -> dict[str, object]:
        """The ensemble config parameters this spec's geometry is written as (JSON values): the
        :data:`GEOMETRY_PARAMETERS`, the streams and the stream mode."""
        values = (
            list(self.channels),
            self.sample_rate,
            self.kernel_length,
            self.stride_length,
            self.batch_size,
            list(self.max_latencies),
        )
        return {
            **dict(zip(GEOMETRY_PARAMETERS, values, strict=True)),
            "streams": self.streams,
            STREAM_MODE: self.stream_mode.value,
        }

    @property
    def num_witnesses(self) -> int:
        return len(self.channels) - 1

    def geometry(self, max_latency: float | None = None) -> StreamGeometry:
        """Window geometry in samples for ``max_latency`` seconds (default: the first)."""
        return StreamGeometry.from_seconds(
            kernel_length=self.kernel_length,
            stride_length=self.stride_length,
            sample_rate=self.sample_rate,
            batch_size=self.batch_size,
            max_latency=self.max_latencies[0] if max_latency is None else max_latency,
            mode=self.stream_mode,
        )


@dataclass(frozen=True)
class AggregatorSpec:
    """One aggregator model of the ensemble and the ensemble output it feeds."""

    role: Role
    max_latency: float  #: seconds
    model: str  #: model name, e.g. ``aggregator-production``
    output: str  #: ensemble output, e.g. ``noise_production``


def _latency_tag(max_latency: float) -> str:
    return f"{round(max_latency * 1000):d}ms"


def aggregators(spec: StreamSpec) -> list[AggregatorSpec]:
    """``aggregator-<role>`` feeding ``noise_<role>`` for one latency; suffixed
    ``-<ms>ms``/``_<ms>ms`` for several."""
    result = []
    for latency in spec.max_latencies:
        tag = "" if len(spec.max_latencies) == 1 else _latency_tag(latency)
        for role in Role:
            model, output = f"aggregator-{role}", f"noise_{role}"
            if tag:
                model, output = f"{model}-{tag}", f"{output}_{tag}"
            result.append(AggregatorSpec(role, latency, model, output))
    return result
