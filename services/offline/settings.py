"""Settings of ``deepclean clean-offline`` (table ``[tool.deepclean.clean-offline]``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, NonNegativeFloat, PositiveFloat, model_validator

from deepclean.utils.config import GPSDuration, GPSSecond
from deepclean.utils.config.inference import InferenceSettings
from deepclean.utils.config.mixins import TorchRunSettings


class OfflineSettings(InferenceSettings, TorchRunSettings):
    """Which model, which span, and how to apply it (the streaming geometry)."""

    service: ClassVar[str] = "clean-offline"

    weights: Path | None = None
    """trained model directory (or its weights.pt)"""
    start: GPSSecond | None = None
    """GPS start of the span to clean, seconds"""
    duration: GPSDuration | None = None
    """length of the span to clean, seconds"""
    output_dir: Path | None = None
    """directory receiving cleaned frames and report.json"""
    filter_pad: PositiveFloat = 2.0
    """seconds of noise on each side band-passed with the cleaned stretch"""
    ready_taper: NonNegativeFloat = Field(1.0, le=1.0)
    """seconds over which the noise is tapered in/out at analysis-ready edges"""
    max_in_band_ratio: PositiveFloat = 1.0
    """fail when the cleaned/raw in-band ASD ratio is above this (1: any worsening fails;
    --allow-worse writes anyway)"""

    @model_validator(mode="after")
    def _check_geometry(self) -> OfflineSettings:
        from deepclean.utils.training.settings import check_inference

        check_inference(self)
        return self
