"""Settings of the ``deepclean trainer`` service (table ``[tool.deepclean.trainer]``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt

from deepclean.utils.config import GPSSecond, HttpUrl, PortOrZero
from deepclean.utils.config.mixins import HttpServerSettings
from deepclean.utils.monitoring.production_record import KEPT_CHECKS
from deepclean.utils.training.settings import TrainingSettings


class TrainerSettings(TrainingSettings, HttpServerSettings):
    """Training settings plus how the service follows the stream and announces models.

    ``channels`` defaults to ``$DATA_DIR/channels.txt``; ``output_dir``, ``duration`` and
    ``init_weights`` are not used (each run goes to ``$PROJECT_DIR/train/<start>-<end>/`` and
    fine-tunes the previous one).
    """

    service: ClassVar[str] = "trainer"

    start: GPSSecond | None = None
    """GPS second to begin following the stream (none: the newest frame present)"""
    train_duration: PositiveInt = 4096
    """seconds of analysis-ready data per training run"""
    retrain_cadence: PositiveInt = 2048
    """seconds of data between the ends of two runs"""
    notify_url: HttpUrl = "http://127.0.0.1:5000/models"
    """exporter URL receiving a POST after each successful run"""
    notify_retries: NonNegativeInt = 4
    """retries of a failed notification"""
    notify_backoff: PositiveFloat = 1.0
    """first retry delay, seconds (doubles each retry)"""
    notify_timeout: PositiveFloat = 5.0
    """timeout of one notification request, seconds"""
    frame_timeout: PositiveFloat = 2.0
    """seconds to wait for a frame before counting it as dropped (not ready)"""
    max_runs: PositiveInt | None = None
    """stop after this many training runs (none: never)"""
    early_retrain: bool = True
    """also retrain before retrain_cadence when the monitor measures production degrading (its
    record PROJECT_DIR/monitor/production_ratios.json; docs/operations.md)"""
    early_retrain_checks: int = Field(5, ge=1, le=KEPT_CHECKS)
    """monitor checks averaged for production's in-band ratio: its first ones after the promotion
    (the baseline) and its latest ones (one check per monitor_period seconds of data)"""
    early_retrain_tolerance: PositiveFloat = 0.1
    """relative rise of production's averaged in-band ratio above its baseline that retrains early
    (0.1: 10 %, > 4 sigma of the averages' scatter)"""
    early_retrain_min_gap: NonNegativeInt = 1024
    """seconds of data after a run started before an early run may start (time for its canary to be
    exported and judged)"""
    metrics_port: PortOrZero | None = None
    """port of the trainer's Prometheus /metrics (0: any free port; none: not served)"""
