"""Settings of ``deepclean export-model`` (table ``[tool.deepclean.export-model]``,
environment ``DEEPCLEAN_EXPORT_MODEL_*``)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from pydantic import Field, PositiveFloat, PositiveInt

from deepclean.utils.config import SharedSettings


class ExportPlatform(StrEnum):
    """Platforms DeepClean can be served on (a subset of the export library's)."""

    ONNX = "onnxruntime_onnx"  #: GPU node, NVIDIA's Triton image
    TENSORRT = "tensorrt_plan"  #: GPU node; built there, with the image's TensorRT
    PYTHON = "python"  #: onnxruntime inside the python backend: the CPU Triton server


class Architecture(StrEnum):
    """Network architectures (the subcommand of ``deepclean export-model``)."""

    AUTOENCODER = "autoencoder"


class ExportModelSettings(SharedSettings):
    """What to export and how it will stream."""

    service: ClassVar[str] = "export-model"

    repository_directory: Path | None = Field(
        None, description="Triton model repository (default: <project_dir>/model_repo)"
    )
    channels: list[str] = Field(
        default_factory=list,
        description="channels the model was trained on, strain first: the names, or a file with one name per line",
    )
    weights: Path | None = Field(None, description="weights.pt, or the training run directory holding it")
    kernel_length: PositiveFloat = Field(1.0, description="window length DeepClean sees, seconds")
    stride_length: PositiveFloat = Field(1 / 512, description="time between consecutive windows, seconds")
    batch_size: PositiveInt = Field(
        128, description="windows per update (request); one update holds stride_length * batch_size seconds"
    )
    max_latency: list[PositiveFloat] = Field(
        [0.5], description="seconds of each window's prediction averaged, seconds; one aggregator pair per value"
    )
    streams_per_gpu: PositiveInt = Field(1, description="streams (sequences) served at once by the streaming models")
    instances: PositiveInt | None = Field(None, description="DeepClean instances (default: Triton's choice)")
    platform: ExportPlatform = Field(ExportPlatform.ONNX, description="platform of the DeepClean step")
    verbose: bool = Field(False, description="log at DEBUG level")

    @property
    def repository(self) -> Path:
        return self.repository_directory or self.project_dir / "model_repo"
