"""Validating a trained model before it is saved: its best validation loss, and its in-band
ASD ratio when the longest validation segment is cleaned the way the cleaner will (streamed
with the inference geometry, band-passed, subtracted)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from deepclean.utils.errors import TrainingError
from deepclean.utils.frames.span import Span
from deepclean.utils.nn.inference import predict_noise, warmup_samples
from deepclean.utils.signal import asd_ratios
from deepclean.utils.signal.asd_ratios import cleaning_report
from deepclean.utils.signal.filters import BandpassFilter
from deepclean.utils.signal.postprocess import filter_noise
from deepclean.utils.training import plots
from deepclean.utils.training.settings import TrainingSettings

logger = logging.getLogger(__name__)

VALIDATION_STREAM_SECONDS = 64.0  #: at most this much validation data is cleaned by streaming


def validate_by_streaming(
    model, span: Span, background, segments, settings: TrainingSettings, asd_plot: Path
) -> dict:
    """Clean (up to ~64 s of) the longest validation segment as the cleaner will; measure ASD
    ratios."""
    geometry = settings.stream_geometry()
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
    plots.plot_asds(asd_plot, settings.sample_rate, settings.bands, raw, cleaned, background)
    return report


def check_loss(history, settings: TrainingSettings) -> None:
    """Refuse a model whose best validation loss is not below ``max_valid_loss``."""
    if not np.isfinite(history.best_loss) or history.best_loss >= settings.max_valid_loss:
        raise TrainingError(
            f"validation failed: best validation loss {history.best_loss:.4f} is not below "
            "max_valid_loss "
            f"{settings.max_valid_loss}; the model was not saved"
        )


def check_ratio(ratio: float | None, settings: TrainingSettings) -> None:
    """Refuse a model whose in-band ASD ratio on the validation data is not below the bound."""
    if ratio is not None and not ratio < settings.max_valid_ratio:
        raise TrainingError(
            f"validation failed: cleaned/raw in-band ASD ratio {ratio:.3f} on the validation "
            f"data is not below max_valid_ratio {settings.max_valid_ratio}; the model was not saved"
        )
