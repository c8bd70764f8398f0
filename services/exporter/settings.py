"""Settings of ``deepclean export-model`` (table ``[tool.deepclean.export-model]``,
environment ``DEEPCLEAN_EXPORT_MODEL_*``) and of the ``deepclean exporter`` service."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from pydantic import Field, PositiveFloat, PositiveInt

from deepclean.utils.config import Port, SharedSettings
from deepclean.utils.config.inference import InferenceSettings
from deepclean.utils.config.mixins import (
    BandMarginSettings,
    HttpServerSettings,
    ServingSettings,
    StreamModeSettings,
    TritonClientSettings,
)


class ExportPlatform(StrEnum):
    """Platforms DeepClean can be served on (a subset of the export library's)."""

    ONNX = "onnxruntime_onnx"  #: GPU node, NVIDIA's Triton image
    TENSORRT = "tensorrt_plan"  #: GPU node; built there, with the image's TensorRT
    PYTHON = "python"  #: onnxruntime inside the python backend: the CPU Triton server


class Architecture(StrEnum):
    """Network architectures (the subcommand of ``deepclean export-model``)."""

    AUTOENCODER = "autoencoder"


class ExportModelSettings(SharedSettings, ServingSettings, StreamModeSettings):
    """What to export and how it will stream."""

    service: ClassVar[str] = "export-model"

    channels: list[str] = Field(default_factory=list)
    """channels the model was trained on, strain first: the names, or a file with one name per
    line"""
    weights: Path | None = None
    """weights.pt, or the training run directory holding it"""
    kernel_length: PositiveFloat = 1.0
    """window length DeepClean sees at inference, seconds (the exporter's and train's
    inference_kernel_length; not train's kernel_length)"""
    stride_length: PositiveFloat = 1 / 512
    """time between consecutive windows, seconds"""
    batch_size: PositiveInt = 128
    """windows per update (request); one update holds stride_length * batch_size seconds"""
    max_latency: list[PositiveFloat] = [0.5]
    """seconds of each window's prediction averaged, seconds; one aggregator pair per value"""
    platform: ExportPlatform = ExportPlatform.ONNX
    """platform of the DeepClean step"""
    verbose: bool = False
    """log at DEBUG level"""


class ExporterSettings(
    InferenceSettings, ServingSettings, BandMarginSettings, TritonClientSettings, HttpServerSettings
):
    """The exporter service (table ``[tool.deepclean.exporter]``, environment
    ``DEEPCLEAN_EXPORTER_*``).

    The inference geometry has the meaning of ``export-model``'s flags under the names of the
    training profiles (``--profile cpu|production`` sets them): windows of
    ``inference_kernel_length`` s every ``1 / inference_sampling_rate`` s, ``inference_batch_size``
    windows per update, ``max_latency`` s averaged (windowed ``stream_mode``).
    """

    service: ClassVar[str] = "exporter"

    channels: list[str] = Field(default_factory=list)
    """channels the models take, strain first: the names, or a file with one name per line (default:
    <data_dir>/channels.txt)"""
    platform: ExportPlatform = ExportPlatform.PYTHON
    """platform of the DeepClean step: python on the CPU server; onnxruntime_onnx or tensorrt_plan
    on a GPU node (a repository keeps its platform)"""
    keep_versions: PositiveInt = Field(5, ge=2)
    """DeepClean versions kept on disk (production and canary always)"""
    triton_timeout: PositiveFloat = 120.0
    """seconds to wait for Triton at start-up"""
    port: Port = 5000
    """TCP port of the HTTP API"""
    max_body_bytes: PositiveInt = 65536
    """largest request body accepted, bytes"""
    threads: PositiveInt = 4
    """HTTP worker threads"""
    insecure_no_token: bool = False
    """serve exports, promotions and rollbacks WITHOUT a token to anyone who can reach the port
    (logged as a WARNING at every start); without it and without DEEPCLEAN_TOKEN every POST is
    refused"""

    @property
    def train_dir(self) -> Path:
        return self.project_dir / "train"

    @property
    def stride_length(self) -> float:
        return self.inference_stride_length
