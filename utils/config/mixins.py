"""Groups of settings several commands share, each declared once (issue 23).

A command's settings class inherits the groups it needs next to
:class:`~deepclean.utils.config.settings.SharedSettings` (or a subclass of it). Each group is a
:class:`~deepclean.utils.config.settings.SettingsGroup`: a field's description is the docstring
under it. The fields keep
their names, so their flags (``--triton-url``) and environment variables
(``DEEPCLEAN_<SERVICE>_TRITON_URL``) are those of each command; only the fields of
``SharedSettings`` itself are also read from their plain upper-case name.

- :class:`TritonClientSettings`: the Triton gRPC address (cleaner, monitor, exporter);
- :class:`HttpServerSettings`: the address a service's HTTP server binds to (cleaner,
  monitor, exporter; each has its own port setting);
- :class:`StreamModeSettings`: how DeepClean runs over the stream (the inference geometry and
  ``export-model``);
- :class:`ServingSettings`: the model repository and how DeepClean is served from it
  (``export-model`` and the exporter);
- :class:`BandMarginSettings`: the margin around each cleaning band of the band-pass filters
  (``train``, the trainer and the exporter);
- :class:`TorchRunSettings`: torch's threads and the simulated background channel of a
  command that runs DeepClean over a span (``train``, ``clean-offline``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, NonNegativeFloat, PositiveInt

from deepclean.utils.config.settings import HostPort, SettingsGroup
from deepclean.utils.streaming import StreamMode


class TritonClientSettings(SettingsGroup):
    """Where the Triton server a service talks to listens."""

    triton_url: HostPort = "127.0.0.1:8001"
    """Triton gRPC address, host:port"""


class HttpServerSettings(SettingsGroup):
    """Where a service's HTTP server (its API or page, ``/health``, ``/metrics``) binds."""

    host: str = "127.0.0.1"
    """address this service's HTTP server binds to"""


class StreamModeSettings(SettingsGroup):
    """How DeepClean runs over the stream."""

    stream_mode: StreamMode = StreamMode.CONTIGUOUS
    """how DeepClean runs over the stream: windowed (overlapping windows averaged over max_latency,
    the original) or contiguous (one pass per phase over a contiguous stretch; ignores
    max_latency, lag ~25 ms)"""


class ServingSettings(SettingsGroup):
    """The Triton model repository DeepClean is exported into and how it is served there."""

    repository_directory: Path | None = None
    """Triton model repository (default: <project_dir>/model_repo)"""
    streams_per_gpu: PositiveInt = 1
    """streams (sequences) served at once by the streaming models"""
    instances: PositiveInt | None = None
    """DeepClean instances (default: Triton's choice)"""

    @property
    def repository(self) -> Path:
        """The model repository: ``repository_directory``, else ``<project_dir>/model_repo``."""
        return self.repository_directory or self.project_dir / "model_repo"


class BandMarginSettings(SettingsGroup):
    """How far the band-pass filters reach beyond the cleaning bands."""

    band_margin: NonNegativeFloat = 0.0
    """Hz added below and above every band for the band-pass filters (training's target and noise
    filters and loss, an untrained model's filter_bands; 0: the original's filters, whose edges
    sit on the band edges); reports stay on the band"""

    @property
    def filter_bands(self) -> list[tuple[float, float]]:
        """The bands of the target/noise filters and the loss: ``bands`` widened by
        ``band_margin`` Hz on both sides."""
        return widen(self.bands, self.band_margin)


class TorchRunSettings(SettingsGroup):
    """A command that runs DeepClean in this process over a span of frames."""

    num_threads: PositiveInt = Field(2, le=2)
    """torch CPU threads (at most 2 on this machine)"""
    background_channel: str | None = None
    """channel with the true background, reported and plotted when present (default
    <IFO>:SIM-BACKGROUND)"""


def widen(bands: list[tuple[float, float]], margin: float) -> list[tuple[float, float]]:
    """``bands`` with ``margin`` Hz added on both sides of each."""
    return [(low - margin, high + margin) for low, high in bands]
