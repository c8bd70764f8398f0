"""Closed sets of the export library: Triton platforms, instance kinds and ONNX exporters."""

from __future__ import annotations

from enum import StrEnum

from tritonclient.grpc import model_config_pb2 as pb


class Platform(StrEnum):
    """How Triton runs a model; the value is what ``config.pbtxt`` names.

    ``PYTHON`` is a python-backend model (``backend: "python"`` in the config, not a
    ``platform``); the others are written as ``platform: "<value>"``.
    """

    ONNX = "onnxruntime_onnx"
    TORCHSCRIPT = "pytorch_libtorch"
    TENSORRT = "tensorrt_plan"
    ENSEMBLE = "ensemble"
    PYTHON = "python"

    @property
    def model_filename(self) -> str | None:
        """Triton's default file name inside a version directory (None for an ensemble)."""
        return _FILENAMES[self]

    @property
    def is_backend(self) -> bool:
        """True if the config names this as ``backend`` rather than ``platform``."""
        return self is Platform.PYTHON

    @classmethod
    def parse(cls, value: Platform | str) -> Platform:
        """The member for ``value`` (a member or its string), or a ValueError naming the choices."""
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(p.value for p in cls)
            raise ValueError(f"unknown platform {value!r}; allowed: {allowed}") from None

    @classmethod
    def of_config(cls, config: pb.ModelConfig) -> Platform:
        """The platform a ModelConfig declares (``backend: "python"`` or ``platform``)."""
        if config.backend == "python":
            return cls.PYTHON
        if config.backend and not config.platform:
            raise ValueError(
                f"model {config.name!r} uses backend {config.backend!r}; "
                f"this library handles platforms {', '.join(p.value for p in cls)}"
            )
        return cls.parse(config.platform)


_FILENAMES: dict[Platform, str | None] = {
    Platform.ONNX: "model.onnx",
    Platform.TORCHSCRIPT: "model.pt",
    Platform.TENSORRT: "model.plan",
    Platform.ENSEMBLE: None,
    Platform.PYTHON: "model.py",
}


class InstanceKind(StrEnum):
    """Where Triton places a model's instances (``instance_group.kind``)."""

    AUTO = "auto"
    CPU = "cpu"
    GPU = "gpu"
    MODEL = "model"

    @property
    def proto(self) -> int:
        """The ``ModelInstanceGroup.Kind`` value."""
        return pb.ModelInstanceGroup.Kind.Value(f"KIND_{self.name}")

    @classmethod
    def parse(cls, value: InstanceKind | str) -> InstanceKind:
        try:
            return cls(str(value).lower())
        except ValueError:
            allowed = ", ".join(k.value for k in cls)
            raise ValueError(f"unknown instance kind {value!r}; allowed: {allowed}") from None


class OnnxExporter(StrEnum):
    """Which ``torch.onnx.export`` path writes ONNX files.

    ``DYNAMO`` (default) is torch's supported exporter (``torch.export`` + onnxscript); it
    handles DeepClean's Conv1d/ConvTranspose1d/BatchNorm with a dynamic batch axis but costs
    a few seconds per export. ``TORCHSCRIPT`` is the legacy tracer: much faster, deprecated
    by torch (it will be removed), numerically the same for DeepClean.
    """

    DYNAMO = "dynamo"
    TORCHSCRIPT = "torchscript"
