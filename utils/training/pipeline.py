"""Span in, trained model directory out: the composition behind ``deepclean train`` and the trainer.

:func:`train_model` fits scalers, trains the network in standard units, validates the
result the way it will run (streaming windows and averaging on the validation data,
band-passed noise subtracted) and only then writes ``weights.pt`` and ``metadata.json``.
A NaN loss, a validation loss not below ``max_valid_loss`` or a validation cleaned/raw
ASD ratio not below ``max_valid_ratio`` (checked when the validation data are long enough
to stream) raises
:class:`~deepclean.utils.errors.TrainingError` before anything replaces an earlier model
in the output directory (the loss plot and the checkpoint are still written, for
diagnosis).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from deepclean.utils.errors import TrainingError
from deepclean.utils.frames.span import Span
from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.signal.loss import DeepCleanLoss
from deepclean.utils.training import artifacts, plots
from deepclean.utils.training.dataset import PreparedData, WindowSpec, prepare
from deepclean.utils.training.loop import History, OptimConfig, fit
from deepclean.utils.training.progress import ProgressReporter
from deepclean.utils.training.settings import TrainingSettings
from deepclean.utils.training.validation import check_loss, check_ratio, validate_by_streaming

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.pt"
LOSS_PLOT = "loss.png"
ASD_PLOT = "asd.png"


@dataclass
class TrainResult:
    output_dir: Path
    history: History
    metadata: artifacts.ModelMetadata
    seconds: float  #: wall time of the whole run


def train_model(
    span: Span,
    settings: TrainingSettings,
    output_dir: Path,
    *,
    init_weights: Path | None = None,
    profile: str | None = None,
    interactive: bool | None = None,
    background_channel: str | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train on ``span`` and write the model into ``output_dir``; see the module docstring.

    Args:
        span: strain first, then the witnesses, at ``settings.sample_rate``
            (:func:`deepclean.utils.frames.span.read_span`).
        settings: training settings.
        output_dir: receives weights.pt, metadata.json, loss.png, asd.png, checkpoint.pt.
        init_weights: fine-tune from this model (same channels); lr * fine_tune_decay.
        profile: recorded in the metadata.
        interactive: progress line on a terminal (default: when stderr is one).
        background_channel: key of ``span.extras`` holding the true background (plotted
            and reported when present).
        should_stop: asked before every batch; yes ends training with
            :class:`~deepclean.utils.errors.TrainingInterrupted` (nothing saved).
    """
    started = time.monotonic()
    torch.set_num_threads(settings.num_threads)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    model, lr = _new_model(span, settings, init_weights)
    data = _prepare(model, span, settings)
    history = _train(model, data, settings, lr, output_dir, interactive, should_stop)
    train_seconds = time.monotonic() - started
    plots.plot_losses(history, output_dir / LOSS_PLOT)
    check_loss(history, settings)
    background = span.extras.get(background_channel) if background_channel else None
    validation = validate_by_streaming(
        model, span, background, data.valid_segments, settings, output_dir / ASD_PLOT
    )
    ratio = validation["in_band_ratio"]
    check_ratio(ratio, settings)
    meta = _metadata(
        model, span, settings, data, history, validation, profile, init_weights, lr, train_seconds
    )
    artifacts.save_model(output_dir, model, meta)
    logger.info("model written to %s (validation in-band ASD ratio %s)", output_dir, ratio)
    return TrainResult(output_dir, history, meta, time.monotonic() - started)


def _new_model(
    span: Span, settings: TrainingSettings, init_weights: Path | None
) -> tuple[DeepCleanModel, float]:
    """The model for ``span``'s witnesses (the network from ``init_weights`` when
    fine-tuning) and its learning rate (``lr``, times ``fine_tune_decay`` when fine-tuning)."""
    if span.sample_rate != settings.sample_rate:
        raise TrainingError(
            f"span sample rate {span.sample_rate} Hz differs from settings "
            f"{settings.sample_rate} Hz"
        )
    witnesses = list(span.channels[1:])
    model = DeepCleanModel(len(witnesses))
    lr = settings.lr
    if init_weights is not None:
        _load_network(model, init_weights, witnesses)
        lr = settings.lr * settings.fine_tune_decay
        logger.info("fine-tuning from %s at lr %.3g", init_weights, lr)
    return model, lr


def _train(
    model: DeepCleanModel,
    data: PreparedData,
    settings: TrainingSettings,
    lr: float,
    output_dir: Path,
    interactive: bool | None,
    should_stop: Callable[[], bool] | None,
) -> History:
    """Fit the network on ``data`` (checkpoints into ``output_dir``, a progress line)."""
    logger.info(
        "training on %d windows of %g s (%d validation windows), %d witnesses, band(s) %s "
        "(filters %s)",
        len(data.train_starts),
        settings.kernel_length,
        len(data.valid_starts),
        model.num_witnesses,
        settings.bands,
        settings.filter_bands,
    )
    loss_fn = DeepCleanLoss(
        settings.sample_rate,
        settings.filter_bands,
        settings.fftlength,
        settings.overlap,
        settings.alpha,
    )
    config = _optim_config(settings, lr)
    reporter = ProgressReporter(config.max_epochs, config.max_seconds, interactive=interactive)
    try:
        history = fit(
            model.network,
            loss_fn,
            data,
            config,
            checkpoint_path=output_dir / CHECKPOINT_FILE,
            progress=reporter,
            should_stop=should_stop,
        )
    finally:
        reporter.close()
    logger.info(
        "training stopped after %d epoch(s) (%s); best loss %.4f at epoch %d",
        len(history.records),
        history.stop_reason,
        history.best_loss,
        history.best_epoch,
    )
    return history


def _prepare(model: DeepCleanModel, span: Span, settings: TrainingSettings) -> PreparedData:
    """Fit the scalers and cut the training and validation windows (``kernel_length`` s, the
    training window, every ``kernel_stride`` s)."""
    window = WindowSpec.from_seconds(
        settings.kernel_length, settings.kernel_stride, settings.sample_rate
    )
    return prepare(
        model,
        span.data[0],
        span.data[1:],
        span.ready,
        sample_rate=settings.sample_rate,
        bands=settings.filter_bands,
        window=window,
        valid_frac=settings.valid_frac,
        min_valid_samples=int(round(settings.fftlength * settings.sample_rate)),
    )


def _optim_config(settings: TrainingSettings, lr: float) -> OptimConfig:
    return OptimConfig(
        lr=lr,
        weight_decay=settings.weight_decay,
        batch_size=settings.batch_size,
        max_epochs=settings.max_epochs,
        max_steps=settings.max_steps,
        patience=settings.patience,
        factor=settings.factor,
        early_stop=settings.early_stop,
        max_seconds=settings.max_train_seconds,
        checkpoint_every=settings.checkpoint_every,
        seed=settings.seed,
        schedule=settings.lr_schedule,
    )


def _load_network(model: DeepCleanModel, init_weights: Path, witnesses: list[str]) -> None:
    meta = artifacts.read_metadata(init_weights)
    if meta.witnesses != witnesses:
        raise TrainingError(
            f"init_weights {init_weights} were trained on witnesses {meta.witnesses}, but "
            f"this span has {witnesses}; "
            "fine-tuning needs the same channels in the same order"
        )
    state = artifacts.load_state(init_weights)
    network_state = {
        k.removeprefix("network."): v for k, v in state.items() if k.startswith("network.")
    }
    model.network.load_state_dict(network_state)


def _metadata(model, span, settings, data, history, validation, profile, init_weights, lr, seconds):
    sr = settings.sample_rate
    records = history.records
    return artifacts.ModelMetadata(
        ifo=str(settings.ifo),
        channels=list(span.channels),
        sample_rate=sr,
        bands=[tuple(b) for b in settings.bands],
        filter_bands=[tuple(b) for b in settings.filter_bands],
        kernel_length=settings.kernel_length,
        kernel_stride=settings.kernel_stride,
        inference_kernel_length=settings.inference_kernel_length,
        inference_sampling_rate=settings.inference_sampling_rate,
        inference_batch_size=settings.inference_batch_size,
        max_latency=settings.max_latency,
        scalers={
            "witness": model.witness_scaler.statistics(),
            "target": model.target_scaler.statistics(),
        },
        span={
            "start": span.t0,
            "duration": span.duration,
            "missing_seconds": list(span.missing),
            "ready_seconds": float(span.ready.sum()) / sr,
            "train_segments": [
                [span.t0 + a / sr, span.t0 + b / sr] for a, b in data.train_segments
            ],
            "valid_segments": [
                [span.t0 + a / sr, span.t0 + b / sr] for a, b in data.valid_segments
            ],
        },
        losses={
            "best_valid_loss": history.best_loss,
            "best_epoch": history.best_epoch,
            "final_train_loss": records[-1].train_loss if records else None,
            "final_valid_loss": records[-1].valid_loss if records else None,
            "epochs": len(records),
            "stop_reason": history.stop_reason,
            "history": history.to_dict()["records"],
        },
        validation=validation,
        training={
            "profile": profile,
            "lr": lr,
            "init_weights": None if init_weights is None else str(init_weights),
            "batch_size": settings.batch_size,
            "max_epochs": settings.max_epochs,
            "lr_schedule": settings.lr_schedule.value,
            "fftlength": settings.fftlength,
            "overlap": settings.overlap,
            "alpha": settings.alpha,
            "seed": settings.seed,
            "wall_seconds": seconds,
            "train_windows": int(len(data.train_starts)),
        },
        versions=artifacts.library_versions(),
    )
