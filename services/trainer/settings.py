"""Settings of the ``deepclean trainer`` service (table ``[tool.deepclean.trainer]``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt

from deepclean.utils.config import HttpUrl
from deepclean.utils.training.settings import TrainingSettings


class TrainerSettings(TrainingSettings):
    """Training settings plus how the service follows the stream and announces models.

    ``channels`` defaults to ``$DATA_DIR/channels.txt``; ``output_dir``, ``duration`` and
    ``init_weights`` are not used (each run goes to ``$PROJECT_DIR/train/<start>-<end>/`` and
    fine-tunes the previous one).
    """

    service: ClassVar[str] = "trainer"

    start: NonNegativeInt | None = Field(
        None,
        description="GPS second to begin following the stream (none: the newest frame present)",
    )
    train_duration: PositiveInt = Field(
        4096, description="seconds of analysis-ready data per training run"
    )
    retrain_cadence: PositiveInt = Field(
        2048, description="seconds of data between the ends of two runs"
    )
    notify_url: HttpUrl = Field(
        "http://127.0.0.1:5000/models",
        description="exporter URL receiving a POST after each successful run",
    )
    notify_retries: NonNegativeInt = Field(4, description="retries of a failed notification")
    notify_backoff: PositiveFloat = Field(
        1.0, description="first retry delay, seconds (doubles each retry)"
    )
    notify_timeout: PositiveFloat = Field(
        5.0, description="timeout of one notification request, seconds"
    )
    frame_timeout: PositiveFloat = Field(
        2.0, description="seconds to wait for a frame before counting it as dropped (not ready)"
    )
    max_runs: PositiveInt | None = Field(
        None, description="stop after this many training runs (none: never)"
    )
