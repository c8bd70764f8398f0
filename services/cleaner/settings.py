"""Settings of the ``deepclean cleaner`` service (table ``[tool.deepclean.cleaner]``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt

from deepclean.services.cleaner.seconds import Budget
from deepclean.utils.config import GPSSecond, PortOrZero, SharedSettings
from deepclean.utils.config.mixins import HttpServerSettings, TritonClientSettings

#: the pipeline's look-aheads; their defaults live in :class:`Budget`, once
_BUDGET = Budget()


class CleanerSettings(SharedSettings, TritonClientSettings, HttpServerSettings):
    """Where to read and write, how to reach Triton, and every look-ahead of the pipeline.

    The inference geometry (channels, kernel, stride, batch, max latency) and the filter bands
    are not settings: they come from the configs Triton serves. ``freq_low``/``freq_high`` are
    used only for a version whose ``version_info`` is missing.
    """

    service: ClassVar[str] = "cleaner"

    start: GPSSecond | None = None
    """first GPS second to clean (default: the newest complete second, or after the newest cleaned
    frame)"""
    duration: PositiveInt | None = None
    """stop after this many input seconds (default: run forever)"""
    metrics_port: PortOrZero = 5002
    """port of /metrics and /health (0: any free port)"""
    frame_timeout: PositiveFloat = 2.0
    """seconds a frame may come after it is due (one second after the previous frame) before
    it is declared dropped (sooner once a later second is complete)"""
    grace: PositiveFloat = 1.0
    """seconds from sending a second's data to Triton until it is written raw without an answer"""
    reconnect_backoff: PositiveFloat = 1.0
    """first wait before reconnecting to Triton, seconds (doubles)"""
    reconnect_backoff_max: PositiveFloat = 8.0
    """longest wait between reconnection attempts, seconds"""
    config_poll: PositiveFloat = 1.0
    """seconds between re-reads of the served configs (versions)"""
    drop_taper: PositiveFloat = Field(_BUDGET.drop_taper, le=1.0)
    """half-Hann fade-out inside a dropped second and taper-in after it, seconds"""
    filter_memory: NonNegativeFloat = _BUDGET.filter_memory
    """seconds of past noise band-passed with each second"""
    filter_lead: NonNegativeFloat | None = _BUDGET.filter_lead
    """seconds of future noise band-passed with each second (default: what the witness resampler's
    reach and the served lag leave of one frame, 0.93 s at the cpu geometry; reach + lag + lead
    beyond one frame adds a frame of latency)"""
    noise_settle: NonNegativeFloat = _BUDGET.noise_settle
    """seconds of valid noise needed before a second for its cleaning to count as valid"""
    ready_taper: NonNegativeFloat = Field(_BUDGET.ready_taper, le=1.0)
    """noise taper at analysis-ready edges, seconds"""
    outdq_buffer: PositiveInt = _BUDGET.outdq_buffer
    """seconds of raw/cleaned strain in the OUT_DQ ASD ratio"""
    outdq_min: PositiveInt = _BUDGET.outdq_min
    """valid seconds before the OUT_DQ gate first decides"""
    outdq_fftlength: PositiveFloat = _BUDGET.outdq_fftlength
    """Welch segment of the OUT_DQ ASD ratio, seconds"""
    outdq_taper: PositiveFloat = Field(_BUDGET.outdq_taper, le=1.0)
    """OUT_DQ taper in/out, seconds"""
    stall_deadline: PositiveFloat = 30.0
    """seconds input frames may keep arriving with no cleaned frame written before /health answers
    503"""
    context: NonNegativeInt = 6
    """seconds read before the first second to write (resampler, warm-up, filter memory)"""
