"""Settings of the ``deepclean monitor`` service (table ``[tool.deepclean.monitor]``,
environment ``DEEPCLEAN_MONITOR_*``); every threshold is also a flag."""

from __future__ import annotations

from typing import ClassVar

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    model_validator,
)

from deepclean.utils.config import HttpUrl, Port, SharedSettings
from deepclean.utils.config.mixins import HttpServerSettings, TritonClientSettings
from deepclean.utils.monitoring.asd import (
    DEFAULT_AVERAGE,
    DEFAULT_FFTLENGTH_S,
    DEFAULT_SEGMENT_S,
    Average,
    welch_segments,
)
from deepclean.utils.monitoring.decision import Thresholds

#: the canary decision's thresholds; their defaults live in :class:`Thresholds`, once
_THRESHOLDS = Thresholds()


class MonitorSettings(SharedSettings, TritonClientSettings, HttpServerSettings):
    """How the monitor checks canaries, bounds the carousel, archives and serves its page."""

    service: ClassVar[str] = "monitor"

    exporter_url: HttpUrl = "http://127.0.0.1:5000"
    """base URL of the exporter (GET /versions, POST /promote)"""
    port: Port = 5001
    """port of the status page (/, /status, /health, /metrics)"""
    monitor_period: PositiveInt = 64
    """seconds of data between two canary checks (>= asd_segment_length: disjoint checks)"""
    asd_segment_length: PositiveInt = int(DEFAULT_SEGMENT_S)
    """seconds of data per ASD ratio"""
    asd_fftlength: PositiveFloat = DEFAULT_FFTLENGTH_S
    """seconds per Welch FFT of the ASD ratio"""
    asd_average: Average = DEFAULT_AVERAGE
    """averaging of Welch periodograms (median: a loud signal or glitch moves no decision)"""
    min_coverage: float = Field(0.6, gt=0, le=1)
    """fraction of a check's asd_segment_length that must be usable seconds (in runs of at least one
    FFT); the ASD is averaged over the runs present, so a few missing or tapered seconds cost
    statistics, not the check (1 = every second needed)"""
    passes: PositiveInt = _THRESHOLDS.passes
    """consecutive passing checks that promote the canary"""
    failures: PositiveInt = _THRESHOLDS.failures
    """consecutive failing checks that reject the canary"""
    max_ratio: PositiveFloat = _THRESHOLDS.max_ratio
    """a passing canary has in-band ASD ratio canary/raw <= this"""
    tolerance: NonNegativeFloat = _THRESHOLDS.tolerance
    """a passing canary is no worse than production by more than this fraction"""
    range_tolerance: NonNegativeFloat = 0.01
    """a passing canary's BNS range is >= production's x (1 - this) and >= raw's"""
    max_files: PositiveInt = 300
    """cleaned frames kept in the carousel (oldest deleted)"""
    carousel_headroom: NonNegativeInt = 32
    """frames kept free below max_files for what the cleaner writes while the monitor works (a
    catch-up burst during an archive write)"""
    write_cadence: PositiveInt = 128
    """seconds per archive file (aligned to GPS multiples)"""
    archive_max_age: PositiveFloat | None = 7 * 86400.0
    """delete archive files ending more than this many seconds before the newest data (7 days; none:
    keep)"""
    archive_max_bytes: PositiveInt | None = 50 * 10**9
    """delete the oldest archive files beyond this total size, bytes (50 GB, ~8 days of float32
    archives; none: no limit)"""
    archive_float64: bool = False
    """archive strain-like channels in float64 as the cleaned frames hold them (twice the size); by
    default float32, whose rounding error lies > 3000x below the noise floor (docs/operations.md)"""
    plot_history: PositiveFloat = 3600.0
    """seconds of ratio history on the status page"""
    frame_timeout: PositiveFloat = 5.0
    """wall seconds without a new cleaned frame before a status cycle runs anyway"""
    exporter_retries: int = Field(4, ge=0)
    """retries of a failed exporter request"""
    exporter_backoff: PositiveFloat = 1.0
    """first retry delay, seconds (doubles each retry)"""
    exporter_timeout: PositiveFloat = 10.0
    """timeout of one exporter request, seconds"""
    refresh: PositiveInt = 10
    """seconds between automatic reloads of the status page"""
    check_deadline: PositiveFloat = 300.0
    """seconds a segment handed to the checker may wait with no check finished before /health
    answers 503 (a check with every exporter retry takes ~2 min)"""
    archive_backoff_max: PositiveFloat = 60.0
    """longest wait before retrying a failed archive write, seconds (the wait doubles from 1 s after
    each failure)"""

    @model_validator(mode="after")
    def _check_monitor(self) -> MonitorSettings:
        if welch_segments(self.asd_segment_length, self.asd_fftlength) < 1:
            raise ValueError(
                f"asd_segment_length {self.asd_segment_length} s is shorter than asd_fftlength "
                f"{self.asd_fftlength} s; need at least one FFT per segment"
            )
        least = self.write_cadence + 2 + self.carousel_headroom
        if self.max_files < least:
            raise ValueError(
                f"max_files {self.max_files} must be at least write_cadence + 2 + "
                f"carousel_headroom = {least}: an open span's frames stay until the frame after "
                "it arrives and the span is archived, and the carousel keeps headroom for the "
                "frames written meanwhile"
            )
        return self
