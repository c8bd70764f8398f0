"""Settings of ``deepclean validate`` (table ``[tool.deepclean.validate]``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from deepclean.services.validate.report import Method
from deepclean.utils.config import GPSDuration, GPSSecond, SharedSettings

_M = Method()


class ValidateSettings(SharedSettings):
    """Which data, which injections, how to measure, when to fail."""

    service: ClassVar[str] = "validate"

    injections: Path | None = None
    """injection list (JSON); none = $DATA_DIR/injections-<IFO>.json"""
    cleaned_dir: Path | None = None
    """clean-offline output directory; none = the live pipeline's cleaned frames
    ($PROJECT_DIR/cleaned/<IFO>) and archive ($PROJECT_DIR/archive/<IFO>)"""
    reference_dir: Path | None = None
    """clean-offline output of the same span simulated without injections: gives exact recovered
    fractions; none = SNR ratios only"""
    channels: Path | None = None
    """channel list of the raw data; none = $DATA_DIR/channels.txt"""
    start: GPSSecond | None = None
    """GPS start of the span, s; none = the first cleaned second"""
    duration: GPSDuration | None = None
    """length of the span, s; none = up to the last cleaned second"""
    output_dir: Path | None = None
    """directory receiving report.json, snr.png and range.png; none = $PROJECT_DIR/validate"""
    pad: PositiveFloat = _M.pad_s
    """seconds of data on each side of a signal in its matched filter"""
    psd_length: PositiveFloat = _M.psd_length_s
    """seconds of signal-free data on each side of a signal for its PSD"""
    psd_fftlength: PositiveFloat = _M.psd_fftlength_s
    """FFT length of the median-Welch PSDs, s"""
    snr_f_low: PositiveFloat = _M.f_low_hz
    """matched filter's low end, Hz"""
    snr_f_high: PositiveFloat = _M.f_high_hz
    """matched filter's high end, Hz (below the Nyquist of 4096 Hz)"""
    max_offset: PositiveFloat = _M.max_offset_s
    """SNR peak searched within +/- this of the injected time, s"""
    max_snr_loss: float = Field(_M.max_snr_loss, ge=0.0, lt=1.0)
    """fail (exit 1) when a cleaned series loses more than this fraction of an injection's SNR"""
    range_stride: PositiveInt = _M.range_stride_s
    """seconds per point of the range over time"""

    @model_validator(mode="after")
    def _check_band(self) -> ValidateSettings:
        if not self.snr_f_low < self.snr_f_high < 2048.0:
            raise ValueError(
                f"snr_f_low {self.snr_f_low} and snr_f_high {self.snr_f_high} Hz: need "
                "snr_f_low < snr_f_high < 2048 Hz (Nyquist of the cleaned data)"
            )
        return self

    def method(self) -> Method:
        return Method(
            pad_s=self.pad,
            psd_length_s=self.psd_length,
            psd_fftlength_s=self.psd_fftlength,
            f_low_hz=self.snr_f_low,
            f_high_hz=self.snr_f_high,
            max_offset_s=self.max_offset,
            max_snr_loss=self.max_snr_loss,
            range_stride_s=self.range_stride,
            range_fftlength_s=self.psd_fftlength,
        )
