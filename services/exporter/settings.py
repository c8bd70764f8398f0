"""Settings of ``deepclean export-model`` (table ``[tool.deepclean.export-model]``,
environment ``DEEPCLEAN_EXPORT_MODEL_*``) and of the ``deepclean exporter`` service."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt

from deepclean.utils.config import HostPort, SharedSettings
from deepclean.utils.config.inference import InferenceSettings
from deepclean.utils.streaming import StreamMode


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
        description="channels the model was trained on, strain first: the names, or a file with "
        "one "
        "name per line",
    )
    weights: Path | None = Field(
        None, description="weights.pt, or the training run directory holding it"
    )
    kernel_length: PositiveFloat = Field(
        1.0,
        description="window length DeepClean sees at inference, seconds (the exporter's and "
        "train's inference_kernel_length; not train's kernel_length)",
    )
    stride_length: PositiveFloat = Field(
        1 / 512, description="time between consecutive windows, seconds"
    )
    batch_size: PositiveInt = Field(
        128,
        description="windows per update (request); one update holds stride_length * batch_size "
        "seconds",
    )
    max_latency: list[PositiveFloat] = Field(
        [0.5],
        description="seconds of each window's prediction averaged, seconds; one aggregator pair "
        "per "
        "value",
    )
    stream_mode: StreamMode = Field(
        StreamMode.CONTIGUOUS,
        description="how DeepClean runs over the stream: windowed (overlapping windows averaged "
        "over "
        "max_latency, "
        "the original) or contiguous (one pass per phase over a contiguous stretch; "
        "ignores max_latency, lag ~25 ms)",
    )
    streams_per_gpu: PositiveInt = Field(
        1, description="streams (sequences) served at once by the streaming models"
    )
    instances: PositiveInt | None = Field(
        None, description="DeepClean instances (default: Triton's choice)"
    )
    platform: ExportPlatform = Field(
        ExportPlatform.ONNX, description="platform of the DeepClean step"
    )
    verbose: bool = Field(False, description="log at DEBUG level")

    @property
    def repository(self) -> Path:
        return self.repository_directory or self.project_dir / "model_repo"


class ExporterSettings(InferenceSettings):
    """The exporter service (table ``[tool.deepclean.exporter]``, environment
    ``DEEPCLEAN_EXPORTER_*``).

    The inference geometry has the meaning of ``export-model``'s flags under the names of the
    training profiles (``--profile cpu|production`` sets them): windows of
    ``inference_kernel_length`` s every ``1 / inference_sampling_rate`` s, ``inference_batch_size``
    windows per update, ``max_latency`` s averaged (windowed ``stream_mode``).
    """

    service: ClassVar[str] = "exporter"

    channels: list[str] = Field(
        default_factory=list,
        description="channels the models take, strain first: the names, or a file with one name "
        "per "
        "line "
        "(default: <data_dir>/channels.txt)",
    )
    repository_directory: Path | None = Field(
        None, description="Triton model repository (default: <project_dir>/model_repo)"
    )
    band_margin: NonNegativeFloat = Field(
        0.0,
        description="Hz added on both sides of each band for the untrained model's filter_bands",
    )
    streams_per_gpu: PositiveInt = Field(
        1, description="streams (sequences) served at once by the streaming models"
    )
    instances: PositiveInt | None = Field(
        None, description="DeepClean instances (default: Triton's choice)"
    )
    platform: ExportPlatform = Field(
        ExportPlatform.PYTHON,
        description="platform of the DeepClean step: python on the CPU server; onnxruntime_onnx or "
        "tensorrt_plan "
        "on a GPU node (a repository keeps its platform)",
    )
    keep_versions: PositiveInt = Field(
        5, ge=2, description="DeepClean versions kept on disk (production and canary always)"
    )
    triton_url: HostPort = Field("127.0.0.1:8001", description="Triton's gRPC address, host:port")
    triton_timeout: PositiveFloat = Field(
        120.0, description="seconds to wait for Triton at start-up"
    )
    host: str = Field("127.0.0.1", description="address the HTTP API binds to")
    port: int = Field(5000, ge=1, le=65535, description="TCP port of the HTTP API")
    max_body_bytes: PositiveInt = Field(65536, description="largest request body accepted, bytes")
    threads: PositiveInt = Field(4, description="HTTP worker threads")
    insecure_no_token: bool = Field(
        False,
        description="serve exports, promotions and rollbacks WITHOUT a token to anyone who can "
        "reach the port (logged as a WARNING at every start); without it and without "
        "DEEPCLEAN_TOKEN every POST is refused",
    )

    @property
    def repository(self) -> Path:
        return self.repository_directory or self.project_dir / "model_repo"

    @property
    def train_dir(self) -> Path:
        return self.project_dir / "train"

    @property
    def stride_length(self) -> float:
        return 1.0 / self.inference_sampling_rate

    @property
    def filter_bands(self) -> list[tuple[float, float]]:
        return [(low - self.band_margin, high + self.band_margin) for low, high in self.bands]
