"""Typed training settings (the named profiles that set their defaults: :mod:`.profiles`).

``TrainingSettings`` is the settings object of ``deepclean train`` (table
``[tool.deepclean.train]``, environment ``DEEPCLEAN_TRAIN_*``); the trainer service
extends it. A profile is a table ``[tool.deepclean.profiles.<name>]`` in pyproject.toml
whose values sit between the pyproject tables and the environment/flags
(``load_settings(..., overrides=profile_overrides(name, cls))``):

- ``production``: the anchor's values for a GPU (4096 s of data, 8 s kernels at 0.0625 s
  stride, batch 256, lr 1e-3, up to 50 epochs, 512 inference windows per second);
- ``cpu``: trains a useful model on a 2-core machine within minutes (the default when no
  GPU is present).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    model_validator,
)

from deepclean.utils.config import MAX_GPS, GPSDuration, GPSSecond, SharedSettings
from deepclean.utils.config.inference import InferenceSettings
from deepclean.utils.config.mixins import BandMarginSettings, TorchRunSettings
from deepclean.utils.frames.naming import STATE_RATE_HZ
from deepclean.utils.signal.filters import check_bands
from deepclean.utils.streaming import StreamGeometry, StreamMode
from deepclean.utils.training.profiles import (  # noqa: F401 - re-exported: they lived here
    PROFILE_ENV,
    Profile,
    add_profile_flag,
    chosen_profile,
    default_profile,
    load_profiled_settings,
    profile_overrides,
    read_profile,
)
from deepclean.utils.training.schedule import LrSchedule


class TrainingSettings(InferenceSettings, BandMarginSettings, TorchRunSettings):
    """Settings of ``deepclean train`` (and the trainer service's training runs).

    The ``inference_*`` and ``max_latency`` fields say how the model will be applied
    (recorded in metadata.json and used to validate the model the way it will run).
    """

    service: ClassVar[str] = "train"

    channels: list[str] = Field(default_factory=list)
    """channels, strain first then witnesses: a file with one name per line (e.g.
    DATA_DIR/channels.txt), or the names"""
    start: GPSSecond | None = None
    """GPS start of the training span, seconds"""
    duration: GPSDuration | None = None
    """length of the training span, seconds"""
    output_dir: Path | None = None
    """directory receiving weights.pt, metadata.json and plots"""
    init_weights: Path | None = None
    """weights.pt (or its directory) to fine-tune from, at lr * fine_tune_decay"""
    kernel_length: PositiveFloat = 8.0
    """training window length, seconds (the window at inference is inference_kernel_length)"""
    kernel_stride: PositiveFloat = 0.0625
    """time between training windows, seconds"""
    batch_size: PositiveInt = 256
    """training windows per batch"""
    lr: PositiveFloat = 1e-3
    """Adam learning rate"""
    weight_decay: NonNegativeFloat = 1e-5
    """Adam weight decay"""
    max_epochs: PositiveInt = 50
    """maximum number of epochs"""
    max_steps: PositiveInt | None = None
    """batches per epoch at most (none: every window)"""
    lr_schedule: LrSchedule = LrSchedule.PLATEAU
    """how the lr changes: plateau (times factor after patience epochs without improvement) or
    cosine (annealed from lr to 0 over max_epochs or max_train_seconds, whichever runs out
    first)"""
    patience: PositiveInt = 5
    """epochs without improvement before the lr is reduced (lr_schedule plateau)"""
    factor: PositiveFloat = Field(0.1, lt=1)
    """lr reduction factor on a plateau (lr_schedule plateau)"""
    early_stop: PositiveInt = 10
    """epochs without improvement before training stops"""
    valid_frac: NonNegativeFloat = Field(0.25, lt=1)
    """last fraction of the span used for validation"""
    fftlength: PositiveFloat = 2.0
    """Welch segment length of the loss, seconds"""
    overlap: NonNegativeFloat = 1.0
    """Welch segment overlap of the loss, seconds"""
    alpha: float = Field(1.0, ge=0, le=1)
    """weight of the PSD term of the loss; 1 - alpha weights MSE"""
    fine_tune_decay: PositiveFloat = Field(0.1, le=1)
    """lr factor when fine-tuning from init_weights"""
    max_train_seconds: PositiveFloat | None = None
    """wall-time budget of the optimisation, seconds (none: unlimited)"""
    checkpoint_every: NonNegativeInt = 1
    """epochs between checkpoints (0: never)"""
    seed: int = 0
    """random seed of weights and window order"""
    max_valid_loss: PositiveFloat = 0.95
    """validation fails when the best validation loss is not below this (1 = no cleaning)"""
    max_valid_ratio: PositiveFloat = 1.0
    """validation fails when the cleaned/raw in-band ASD ratio of the validation data is not below
    this"""

    @model_validator(mode="after")
    def _check_geometry(self) -> TrainingSettings:
        if self.overlap >= self.fftlength:
            raise ValueError(
                f"overlap {self.overlap} s must be shorter than fftlength {self.fftlength} s"
            )
        if self.fftlength > self.kernel_length:
            raise ValueError(
                f"fftlength {self.fftlength} s must not exceed kernel_length {self.kernel_length} s"
            )
        check_bands(self.filter_bands, self.sample_rate)
        check_inference(self)
        check_windows(self)
        return self


def check_windows(settings: TrainingSettings) -> None:
    """``ValueError`` when training windows cannot be cut as asked, or (with a ``duration``)
    when no training or validation window fits in the span."""
    fs = settings.sample_rate
    kernel = settings.kernel_length * fs
    if round(kernel) < 16 or round(kernel) % 16 or abs(kernel - round(kernel)) > 1e-6:
        raise ValueError(
            f"kernel_length {settings.kernel_length:g} s is {kernel:g} samples at "
            f"sample_rate {fs:g} Hz; "
            "allowed: a whole multiple of 16 samples"
        )
    if settings.kernel_stride * fs < 1:
        raise ValueError(
            f"kernel_stride {settings.kernel_stride:g} s is less than one sample at "
            f"sample_rate {fs:g} Hz; "
            f"allowed: >= {1 / fs:g} s"
        )
    if settings.duration is None:
        return
    train_s = settings.duration * (1 - settings.valid_frac)
    if train_s < settings.kernel_length:
        raise ValueError(
            f"duration {settings.duration} s leaves {train_s:g} s for training (valid_frac "
            f"{settings.valid_frac:g}), "
            f"less than one kernel_length window ({settings.kernel_length:g} s); allowed: "
            f"duration * (1 - valid_frac) >= kernel_length"
        )
    valid_s = settings.duration * settings.valid_frac
    need = max(settings.kernel_length, settings.fftlength)
    if settings.valid_frac > 0 and valid_s < need:
        raise ValueError(
            f"duration {settings.duration} s leaves {valid_s:g} s for validation "
            f"(valid_frac {settings.valid_frac:g}), "
            f"less than one window ({need:g} s); allowed: duration * valid_frac >= {need:g}"
        )


def check_inference(settings: SharedSettings) -> None:
    """``ValueError`` when the ``inference_*``/``max_latency`` settings do not make a streaming
    geometry, or ``start + duration`` is past the last GPS second of GWF (shared with
    ``deepclean clean-offline``)."""
    from deepclean.utils.training.preflight import inference_geometry

    if settings.sample_rate % STATE_RATE_HZ:
        raise ValueError(
            f"sample_rate {settings.sample_rate:g} Hz is not a whole multiple of the state "
            f"vector's {STATE_RATE_HZ:g} Hz; allowed: e.g. 1024, 2048, 4096"
        )
    inference_geometry(
        kernel_length=settings.inference_kernel_length,
        sampling_rate=settings.inference_sampling_rate,
        sample_rate=settings.sample_rate,
        batch_size=settings.inference_batch_size,
        max_latency=settings.max_latency,
    )
    if (
        getattr(settings, "stream_mode", None) == StreamMode.CONTIGUOUS
    ):  # its lag must fit in a kernel
        fs, stride = (
            settings.sample_rate,
            round(settings.sample_rate / settings.inference_sampling_rate),
        )
        lag = -(-StreamGeometry.min_lag(stride) // stride) * stride
        if lag > round(settings.inference_kernel_length * fs):
            raise ValueError(
                f"stream_mode contiguous lags by {lag} samples at inference_sampling_rate "
                f"{settings.inference_sampling_rate:g} Hz, more than inference_kernel_length "
                f"{settings.inference_kernel_length:g} s; allowed: inference_kernel_length "
                f">= {lag / fs:g} s"
            )
    start, duration = getattr(settings, "start", None), getattr(settings, "duration", None)
    if start is not None and start + (duration or 1) > MAX_GPS:
        span = f"span GPS {start} + {duration} s ends" if duration else f"start GPS {start} is"
        raise ValueError(
            f"{span} after the last GPS second GWF frames can hold ({MAX_GPS}); allowed: "
            f"start + duration <= {MAX_GPS}"
        )
