"""Triton model configs as ``ModelConfig`` protobufs: read, write, and small edits.

Configs are ``tritonclient.grpc.model_config_pb2.ModelConfig`` messages, parsed from and
written to ``config.pbtxt`` with protobuf's ``text_format`` (never hand-built strings).
Writes are atomic and fsynced (:mod:`deepclean.utils.files`).

Model ``parameters`` are strings in Triton; :func:`set_parameters` stores a ``str`` as is
and anything else (numbers, lists, dicts, bools) as JSON, and :func:`get_parameters`
decodes them back, so ``get_parameters(set_parameters(c, p)) == p`` for JSON-able values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as pb
from tritonclient.utils import np_to_triton_dtype, triton_to_np_dtype

from deepclean.utils.errors import ExportError
from deepclean.utils.export.platform import InstanceKind, Platform
from deepclean.utils.files import atomic_write_text
from deepclean.utils.triton.parameters import decode_parameter, encode_parameter

CONFIG_FILENAME = "config.pbtxt"


def new_config(name: str, platform: Platform) -> pb.ModelConfig:
    """An empty config for model ``name`` on ``platform``."""
    config = pb.ModelConfig(name=name)
    if platform.is_backend:
        config.backend = platform.value
    else:
        config.platform = platform.value
    return config


def read_config(path: Path) -> pb.ModelConfig:
    """Parse a ``config.pbtxt``; ExportError naming the file if it is not a valid ModelConfig."""
    try:
        return text_format.Parse(Path(path).read_text(), pb.ModelConfig())
    except (OSError, text_format.ParseError) as exc:
        raise ExportError(f"cannot read model config {path}: {exc}") from exc


def config_text(config: pb.ModelConfig) -> str:
    """The ``config.pbtxt`` text of ``config``."""
    return text_format.MessageToString(config)


def write_config(config: pb.ModelConfig, path: Path) -> None:
    """Write ``config`` to ``path`` atomically."""
    atomic_write_text(path, config_text(config))


# --------------------------------------------------------------------------- dtypes


def triton_dtype(dtype: Any) -> int:
    """The ``DataType`` enum value for a numpy/torch dtype or a name (``"FP32"``,
    ``"TYPE_FP32"``)."""
    if isinstance(dtype, torch.dtype):
        dtype = torch.empty(0, dtype=dtype).numpy().dtype
    if isinstance(dtype, str) and dtype.upper().removeprefix("TYPE_") in _TRITON_NAMES:
        return pb.DataType.Value("TYPE_" + dtype.upper().removeprefix("TYPE_"))
    try:
        name = np_to_triton_dtype(np.dtype(dtype))
    except TypeError:
        name = None
    if name is None or name == "BYTES":
        raise ValueError(
            f"dtype {dtype!r} has no Triton tensor type; use a numeric numpy/torch dtype"
        )
    return pb.DataType.Value("TYPE_" + name)


def numpy_dtype(data_type: int) -> np.dtype:
    """The numpy dtype of a ``DataType`` enum value."""
    name = pb.DataType.Name(data_type).removeprefix("TYPE_")
    return np.dtype(triton_to_np_dtype(name))


_TRITON_NAMES = {n.removeprefix("TYPE_") for n in pb.DataType.keys()} - {"INVALID", "STRING"}  # noqa: SIM118 - a protobuf enum wrapper is not iterable


@dataclass(frozen=True)
class TensorSpec:
    """One input or output as the config declares it.

    ``dims`` excludes the batch axis when the model has ``max_batch_size > 0``; ``-1`` marks
    a variable-size axis.
    """

    name: str
    dims: tuple[int, ...]
    data_type: int  #: ``model_config_pb2.DataType`` value

    @classmethod
    def of(cls, name: str, dims: Sequence[int | None], dtype: Any) -> TensorSpec:
        """Build from dims with ``None`` or -1 for variable axes and any dtype :func:`triton_dtype`
        takes."""
        return cls(name, tuple(-1 if d is None else int(d) for d in dims), triton_dtype(dtype))

    @classmethod
    def from_proto(cls, tensor: pb.ModelInput | pb.ModelOutput) -> TensorSpec:
        return cls(tensor.name, tuple(tensor.dims), tensor.data_type)

    def input_proto(self) -> pb.ModelInput:
        return pb.ModelInput(name=self.name, dims=list(self.dims), data_type=self.data_type)

    def output_proto(self) -> pb.ModelOutput:
        return pb.ModelOutput(name=self.name, dims=list(self.dims), data_type=self.data_type)

    @property
    def dtype(self) -> np.dtype:
        return numpy_dtype(self.data_type)

    def describe(self) -> str:
        return f"{self.name}: {pb.DataType.Name(self.data_type)} {list(self.dims)}"


def inputs_of(config: pb.ModelConfig) -> list[TensorSpec]:
    return [TensorSpec.from_proto(t) for t in config.input]


def outputs_of(config: pb.ModelConfig) -> list[TensorSpec]:
    return [TensorSpec.from_proto(t) for t in config.output]


def set_tensors(
    config: pb.ModelConfig, inputs: Iterable[TensorSpec], outputs: Iterable[TensorSpec]
) -> None:
    """Replace the config's inputs and outputs."""
    del config.input[:]
    del config.output[:]
    config.input.extend(t.input_proto() for t in inputs)
    config.output.extend(t.output_proto() for t in outputs)


# --------------------------------------------------------------------------- edits


def add_instance_group(
    config: pb.ModelConfig,
    kind: InstanceKind | str = InstanceKind.AUTO,
    count: int = 1,
    gpus: Sequence[int] = (),
) -> pb.ModelInstanceGroup:
    """Append an instance group of ``count`` instances of ``kind`` (on ``gpus``, if given)."""
    kind = InstanceKind.parse(kind)
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"instance count must be a positive integer, got {count!r}")
    if gpus and kind is not InstanceKind.GPU:
        raise ValueError(
            f"gpus {list(gpus)} given for instance kind {kind.value!r}; gpus need kind 'gpu'"
        )
    group = config.instance_group.add(kind=kind.proto, count=count, gpus=list(gpus))
    return group


def set_specific_versions(config: pb.ModelConfig, versions: Iterable[int]) -> None:
    """``version_policy { specific { versions: [...] } }`` holding exactly ``versions`` (sorted,
    unique)."""
    values = sorted(set(versions))
    bad = [v for v in values if not isinstance(v, int) or v < 1]
    if bad or not values:
        raise ValueError(f"versions must be one or more positive integers, got {list(versions)!r}")
    config.version_policy.specific.versions[:] = values


def specific_versions(config: pb.ModelConfig) -> list[int] | None:
    """The versions of a ``specific`` version policy, or None for any other policy."""
    if config.version_policy.WhichOneof("policy_choice") != "specific":
        return None
    return list(config.version_policy.specific.versions)


def set_parameters(config: pb.ModelConfig, parameters: Mapping[str, Any]) -> pb.ModelConfig:
    """Set (add or replace) ``parameters`` in the config; returns the config."""
    for key, value in parameters.items():
        config.parameters[str(key)].string_value = encode_parameter(value)
    return config


def get_parameters(config: pb.ModelConfig) -> dict[str, Any]:
    """The config's parameters, decoded with :func:`decode_parameter`."""
    return {key: decode_parameter(p.string_value) for key, p in sorted(config.parameters.items())}
