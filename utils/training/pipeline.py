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

import numpy as np
import torch

from deepclean.utils.errors import TrainingError
from deepclean.utils.frames.span import Span
from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.nn.inference import predict_noise, warmup_samples
from deepclean.utils.signal import asd_ratios
from deepclean.utils.signal.asd_ratios import cleaning_report
from deepclean.utils.signal.filters import BandpassFilter
from deepclean.utils.signal.loss import DeepCleanLoss
from deepclean.utils.signal.postprocess import filter_noise
from deepclean.utils.streaming import StreamGeometry
from deepclean.utils.training import artifacts, plots
from deepclean.utils.training.dataset import WindowSpec, prepare
from deepclean.utils.training.loop import History, OptimConfig, fit
from deepclean.utils.training.progress import ProgressReporter
from deepclean.utils.training.settings import TrainingSettings

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.pt"
LOSS_PLOT = "loss.png"
ASD_PLOT = "asd.png"
VALIDATION_STREAM_SECONDS = 64.0  #: at most this much validation data is cleaned by streaming


@dataclass
class TrainResult:
    output_dir: Path
    history: History
    metadata: artifacts.ModelMetadata
    seconds: float  #: wall time of the whole run


def inference_geometry(settings: TrainingSettings) -> StreamGeometry:
    """The streaming geometry the model will run with."""
    return StreamGeometry.from_seconds(
        kernel_length=settings.inference_kernel_length,
        stride_length=1.0 / settings.inference_sampling_rate,
        sample_rate=settings.sample_rate,
        batch_size=settings.inference_batch_size,
        max_latency=settings.max_latency,
        mode=settings.stream_mode,
    )


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

    window = WindowSpec.from_seconds(
        settings.kernel_length, settings.kernel_stride, settings.sample_rate
    )
    fft_samples = int(round(settings.fftlength * settings.sample_rate))
    data = prepare(
        model,
        span.data[0],
        span.data[1:],
        span.ready,
        sample_rate=settings.sample_rate,
        bands=settings.filter_bands,
        window=window,
        valid_frac=settings.valid_frac,
        min_valid_samples=fft_samples,
    )
    logger.info(
        "training on %d windows of %g s (%d validation windows), %d witnesses, band(s) %s "
        "(filters %s)",
        len(data.train_starts),
        settings.kernel_length,
        len(data.valid_starts),
        len(witnesses),
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
    config = OptimConfig(
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
    )
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
    train_seconds = time.monotonic() - started
    logger.info(
        "training stopped after %d epoch(s) (%s); best loss %.4f at epoch %d",
        len(history.records),
        history.stop_reason,
        history.best_loss,
        history.best_epoch,
    )
    plots.plot_losses(history, output_dir / LOSS_PLOT)
    if not np.isfinite(history.best_loss) or history.best_loss >= settings.max_valid_loss:
        raise TrainingError(
            f"validation failed: best validation loss {history.best_loss:.4f} is not below "
            "max_valid_loss "
            f"{settings.max_valid_loss}; the model was not saved"
        )
    background = span.extras.get(background_channel) if background_channel else None
    validation = _validate(model, span, background, data.valid_segments, settings, output_dir)
    ratio = validation["in_band_ratio"]
    if ratio is not None and not ratio < settings.max_valid_ratio:
        raise TrainingError(
            f"validation failed: cleaned/raw in-band ASD ratio {ratio:.3f} on the validation "
            f"data is not below max_valid_ratio {settings.max_valid_ratio}; the model was not saved"
        )
    meta = _metadata(
        model, span, settings, data, history, validation, profile, init_weights, lr, train_seconds
    )
    artifacts.save_model(output_dir, model, meta)
    logger.info("model written to %s (validation in-band ASD ratio %s)", output_dir, ratio)
    return TrainResult(output_dir, history, meta, time.monotonic() - started)


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


def _validate(
    model, span: Span, background, segments, settings: TrainingSettings, output_dir: Path
) -> dict:
    """Clean (up to ~64 s of) the longest validation segment as the cleaner will; measure ASD
    ratios."""
    geometry = inference_geometry(settings)
    bandpass = BandpassFilter(tuple(settings.filter_bands), settings.sample_rate)
    memory = int(settings.sample_rate)  # 1 s of filter padding on each side
    skip = warmup_samples(geometry) + memory
    asd_samples = int(
        2 * asd_ratios.DEFAULT_FFTLENGTH_S * settings.sample_rate
    )  # at least a couple of ASD segments
    need = skip + memory + geometry.lag_samples + geometry.update_size + asd_samples
    usable = [(a, b) for a, b in segments if b - a >= need]
    if not usable:
        logger.warning(
            "no validation segment is %.1f s long, as validating by streaming needs; only "
            "the loss was checked",
            need / settings.sample_rate,
        )
        return {"in_band_ratio": None, "seconds": 0.0}
    a, b = max(usable, key=lambda s: s[1] - s[0])
    b = min(b, a + need + int(VALIDATION_STREAM_SECONDS * settings.sample_rate))
    noise = predict_noise(
        model, span.data[1:, a:b], geometry
    )  # aligned with sample a, shorter at the end
    stop = len(noise) - memory
    filtered = filter_noise(noise, bandpass, memory=skip, lead=memory)
    raw = span.data[0, a + skip : a + stop]
    cleaned = raw - filtered
    if background is not None:
        background = background[a + skip : a + stop]
    report = cleaning_report(
        raw, cleaned, settings.sample_rate, settings.bands, background=background
    )
    report["seconds"] = len(raw) / settings.sample_rate
    report["gps_start"] = span.t0 + (a + skip) / settings.sample_rate
    plots.plot_asds(
        output_dir / ASD_PLOT, settings.sample_rate, settings.bands, raw, cleaned, background
    )
    return report


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
            "fftlength": settings.fftlength,
            "overlap": settings.overlap,
            "alpha": settings.alpha,
            "seed": settings.seed,
            "wall_seconds": seconds,
            "train_windows": int(len(data.train_starts)),
        },
        versions=artifacts.library_versions(),
    )
