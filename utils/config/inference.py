"""The inference geometry: one settings model for every command that says how DeepClean will
run over the stream (the exporter, ``clean-offline``, ``train`` and the trainer).

Names: ``inference_kernel_length`` is the window DeepClean sees when it cleans (1 s by
default); the *training* window is a different setting, ``train``'s ``kernel_length`` (8 s).
``export-model`` takes the same geometry under its Triton-facing names (``--kernel-length``
is the inference window there, ``--stride-length = 1 / inference_sampling_rate``,
``--batch-size = inference_batch_size``).
"""

from __future__ import annotations

from pydantic import PositiveFloat, PositiveInt

from deepclean.utils.config.mixins import StreamModeSettings
from deepclean.utils.config.settings import SharedSettings
from deepclean.utils.streaming import StreamGeometry


class InferenceSettings(SharedSettings, StreamModeSettings):
    """Settings of a command that runs, serves or validates DeepClean over a stream."""

    inference_kernel_length: PositiveFloat = 1.0
    """window length DeepClean sees at inference, seconds"""
    inference_sampling_rate: PositiveFloat = 512.0
    """inference windows per second (stride = 1 / this), Hz"""
    inference_batch_size: PositiveInt = 128
    """windows per inference request (update)"""
    max_latency: PositiveFloat = 0.5
    """seconds at the end of each window that are averaged (windowed mode)"""

    @property
    def inference_stride_length(self) -> float:
        """Seconds between consecutive inference windows."""
        return 1 / self.inference_sampling_rate

    def stream_geometry(self) -> StreamGeometry:
        """The streaming geometry (in samples at ``sample_rate``) these settings describe."""
        return StreamGeometry.from_seconds(
            kernel_length=self.inference_kernel_length,
            stride_length=1.0 / self.inference_sampling_rate,
            sample_rate=self.sample_rate,
            batch_size=self.inference_batch_size,
            max_latency=self.max_latency,
            mode=self.stream_mode,
        )
