"""Settings of the ``deepclean trainer`` service (table ``[tool.deepclean.trainer]``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import NonNegativeInt, PositiveFloat, PositiveInt

from deepclean.utils.config import GPSSecond, HttpUrl
from deepclean.utils.training.settings import TrainingSettings


class TrainerSettings(TrainingSettings):
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
