"""The figures of ``report.json`` of ``deepclean clean-offline``, and the bound on the in-band
ratio that refuses a cleaning that made the band worse."""

from __future__ import annotations

import logging

import numpy as np

from deepclean.services.offline.settings import OfflineSettings
from deepclean.utils.errors import DeepCleanError
from deepclean.utils.signal.asd_ratios import cleaning_report
from deepclean.utils.training.gating import ready_segments

logger = logging.getLogger(__name__)


def build_report(
    settings: OfflineSettings,
    span,
    background_name: str | None,
    raw: np.ndarray,
    cleaned: np.ndarray,
    cleaned_slice: tuple[int, int],
    bands: list,
    filter_bands: list,
) -> dict:
    """The figures of ``report.json`` (timings filled in by the caller): what was cleaned, and
    the ASD ratios over the longest analysis-ready stretch."""
    fs = settings.sample_rate
    first, n = cleaned_slice
    ready = span.ready[first : first + n]
    a, b = max(ready_segments(ready), key=lambda seg: seg[1] - seg[0], default=(0, 0))
    background = span.extras.get(background_name) if background_name else None
    report: dict = {
        "ifo": str(settings.ifo),
        "model": str(settings.weights),
        "gps_start": settings.start,
        "duration": settings.duration,
        "bands": [list(b) for b in bands],
        "filter_bands": [list(b) for b in filter_bands],
        "frames_written": sum(
            1 for i in range(settings.duration) if settings.start + i not in set(span.missing)
        ),
        "missing_seconds": [
            s for s in span.missing if settings.start <= s < settings.start + settings.duration
        ],
        "ready_seconds": float(ready.sum()) / fs,
        "report_span": [settings.start + a / fs, settings.start + b / fs],
        "geometry": {
            "kernel_length": settings.inference_kernel_length,
            "inference_sampling_rate": settings.inference_sampling_rate,
            "batch_size": settings.inference_batch_size,
            "max_latency": settings.max_latency,
        },
        "inference_seconds": None,
        "throughput": None,
        "wall_seconds": None,
        "background_channel": background_name,
    }
    if (b - a) / fs >= 4 * 2.0:  # at least a few ASD segments
        bg = None if background is None else background[first + a : first + b]
        report.update(cleaning_report(raw[a:b], cleaned[a:b], fs, bands, background=bg))
    else:
        logger.warning("less than 8 s of contiguous analysis-ready data; no ASD ratios reported")
    return report


def check_ratio(settings: OfflineSettings, ratio: float | None, allow_worse: bool) -> None:
    """Refuse (unless ``allow_worse``) a cleaning whose in-band ratio is above the bound."""
    if ratio is not None and not ratio <= settings.max_in_band_ratio:
        worse = "cleaning made the band worse than raw: " if ratio > 1 else ""
        message = (
            f"{worse}cleaned/raw in-band ASD ratio {ratio:.3f} with model "
            f"{settings.weights} on GPS "
            f"{settings.start}+{settings.duration} s is above max_in_band_ratio "
            f"{settings.max_in_band_ratio:g}"
        )
        if not allow_worse:
            raise DeepCleanError(f"{message}; nothing was written (--allow-worse writes anyway)")
        logger.warning("%s; writing anyway (--allow-worse)", message)
