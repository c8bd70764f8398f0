"""``ModelConfig`` protobufs of the stateful python-backend models (pure: no files).

Parameters (strings) carry the :class:`~deepclean.utils.streaming.StreamGeometry`: ``kernel_size``,
``stride``, ``batch_size``, ``num_updates`` and the stream ``mode``. Both models have
``max_batch_size: 0``: Triton's sequence batcher only accepts requests of batch size 1, while the
windows travel between the steps as ``(batch, W, kernel)`` (DeepClean's batch axis). A model without
batching has one sequence slot per instance, so the number of instances is the number of streams
served at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from tritonclient.grpc import model_config_pb2 as mc

from deepclean.utils.export.config import set_parameters
from deepclean.utils.streaming import StreamGeometry


def _tensor(kind: type, name: str, data_type: str, dims: Sequence[int]):
    return kind(name=name, data_type=mc.DataType.Value(data_type), dims=list(dims))


def _sequence_batching(idle_seconds: float) -> mc.ModelSequenceBatching:
    control = mc.ModelSequenceBatching.Control
    batching = mc.ModelSequenceBatching(
        max_sequence_idle_microseconds=int(round(idle_seconds * 1e6))
    )
    batching.direct.SetInParent()
    for name, kind in (
        ("START", control.CONTROL_SEQUENCE_START),
        ("END", control.CONTROL_SEQUENCE_END),
    ):
        batching.control_input.add(name=name).control.add(kind=kind, fp32_false_true=[0.0, 1.0])
    batching.control_input.add(name="CORRID").control.add(
        kind=control.CONTROL_SEQUENCE_CORRID, data_type=mc.TYPE_UINT64
    )
    return batching


def _stateful_python_model(name: str, *, streams: int, idle_seconds: float) -> mc.ModelConfig:
    config = mc.ModelConfig(name=name, backend="python", max_batch_size=0)
    config.sequence_batching.CopyFrom(_sequence_batching(idle_seconds))
    config.instance_group.add(count=streams, kind=mc.ModelInstanceGroup.KIND_CPU)
    return config


def snapshotter_config(
    name: str, *, num_channels: int, geometry: StreamGeometry, streams: int, idle_seconds: float
) -> mc.ModelConfig:
    """``update`` (1, W, stride*batch) -> ``windows`` (model_batch, W, input_size) +
    ``update_index`` (1,).

    ``windows`` are B windows of ``kernel_size`` (windowed mode) or one stretch per phase
    (contiguous).
    """
    g = geometry
    config = _stateful_python_model(name, streams=streams, idle_seconds=idle_seconds)
    config.input.append(
        _tensor(mc.ModelInput, "update", "TYPE_FP32", [1, num_channels, g.update_size])
    )
    config.output.append(
        _tensor(mc.ModelOutput, "windows", "TYPE_FP32", [g.model_batch, num_channels, g.input_size])
    )
    config.output.append(_tensor(mc.ModelOutput, "update_index", "TYPE_INT64", [1]))
    set_parameters(config, {"num_channels": num_channels, **g.parameters()})
    return config


def aggregator_config(
    name: str, *, geometry: StreamGeometry, streams: int, idle_seconds: float
) -> mc.ModelConfig:
    """``prediction`` (model_batch, input_size) + ``update_index`` (1,) -> ``noise`` (1,
    stride*batch)."""
    g = geometry
    config = _stateful_python_model(name, streams=streams, idle_seconds=idle_seconds)
    config.input.append(
        _tensor(mc.ModelInput, "prediction", "TYPE_FP32", [g.model_batch, g.input_size])
    )
    config.input.append(_tensor(mc.ModelInput, "update_index", "TYPE_INT64", [1]))
    config.output.append(_tensor(mc.ModelOutput, "noise", "TYPE_FP32", [1, g.update_size]))
    set_parameters(config, g.parameters())
    return config
