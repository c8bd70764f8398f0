"""Clean a span offline with a trained model, as the streaming cleaner would, and report.

Steps: read ``[start - pre, start + duration + post)`` (the extra seconds fill the
snapshotter, the averager and the band-pass filter), predict the noise with the streaming
windowing and averaging, band-pass it, gate it by analysis readiness, subtract it, write
one cleaned frame per second of ``[start, start + duration)`` whose frames exist, and
summarise the ASD ratios in ``report.json``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from deepclean.utils.errors import ConfigError
from deepclean.utils.frames.gwf import Channel, write_frame
from deepclean.utils.frames.naming import FrameKind, FrameName
from deepclean.utils.ifo import IFO
from deepclean.utils.nn.inference import predict_noise, warmup_samples
from deepclean.utils.signal.filters import BandpassFilter
from deepclean.utils.signal.gate import ready_gate
from deepclean.utils.signal.metrics import cleaning_report
from deepclean.utils.signal.postprocess import filter_noise
from deepclean.utils.streaming import StreamGeometry
from deepclean.utils.training.artifacts import load_model
from deepclean.utils.training.gating import ready_segments
from deepclean.utils.training.span_io import load_span
from deepclean.services.offline.settings import OfflineSettings

logger = logging.getLogger(__name__)

REPORT_FILE = "report.json"
CLEANED_SUFFIX = "GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION"


def cleaned_channel(ifo: IFO | str) -> str:
    return f"{IFO(ifo)}:{CLEANED_SUFFIX}"


def cleaned_frame_name(ifo: IFO | str, gps: int) -> str:
    """``<site>-<IFO>_llhoft_deepclean-<GPS>-1.gwf``."""
    return FrameName(ifo=IFO(ifo), tag=FrameKind.CLEANED.value, gps=int(gps)).filename


@dataclass(frozen=True)
class Padding:
    """Whole seconds read before and after the span to clean."""

    before: int
    after: int


def padding(geometry: StreamGeometry, sample_rate: float, filter_pad: float) -> Padding:
    """Seconds of context: warm-up + filter memory before; lag + one update + filter lead after."""
    before = math.ceil(warmup_samples(geometry) / sample_rate + filter_pad)
    after = math.ceil((geometry.lag_samples + geometry.update_size) / sample_rate + filter_pad)
    return Padding(before, after)


def clean_offline(settings: OfflineSettings) -> dict:
    """Run the whole job; return the report (also written to ``output_dir/report.json``)."""
    started = time.monotonic()
    torch.set_num_threads(settings.num_threads)
    model, meta = load_model(settings.weights)
    fs = settings.sample_rate
    if meta.sample_rate != fs:
        raise ConfigError(f"model {settings.weights} was trained at {meta.sample_rate} Hz, not sample_rate {fs} Hz")
    if [tuple(b) for b in settings.bands] != [tuple(b) for b in meta.bands]:
        logger.warning("cleaning band(s) %s differ from the model's %s; using the model's", settings.bands, meta.bands)
    bands = [tuple(b) for b in meta.bands]
    filter_bands = [tuple(b) for b in meta.filter_bands]
    geometry = StreamGeometry.from_seconds(
        kernel_length=settings.inference_kernel_length,
        stride_length=1.0 / settings.inference_sampling_rate,
        sample_rate=fs,
        batch_size=settings.inference_batch_size,
        max_latency=settings.max_latency,
    )
    pad = padding(geometry, fs, settings.filter_pad)
    span, background_name = load_span(
        settings.data_dir,
        settings.ifo,
        meta.channels,
        settings.start - pad.before,
        settings.duration + pad.before + pad.after,
        sample_rate=fs,
        background_channel=settings.background_channel,
    )
    if list(span.channels) != meta.channels:
        raise ConfigError(f"span channels {list(span.channels)} differ from the model's {meta.channels}")
    per_s = int(round(fs))
    t_infer = time.monotonic()
    noise = predict_noise(model, span.data[1:], geometry)
    infer_seconds = time.monotonic() - t_infer
    first, n = pad.before * per_s, settings.duration * per_s
    memory = lead = int(round(settings.filter_pad * fs))
    bandpass = BandpassFilter(tuple(filter_bands), fs)
    filtered = filter_noise(noise[first - memory : first + n + lead], bandpass, memory, lead)
    gate = ready_gate(span.ready, int(round(settings.ready_taper * fs)))[first : first + n]
    raw = span.data[0, first : first + n]
    cleaned = raw - gate * filtered

    written = _write_frames(settings, cleaned, raw_missing=span.missing)
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
        "frames_written": len(written),
        "missing_seconds": [s for s in span.missing if settings.start <= s < settings.start + settings.duration],
        "ready_seconds": float(ready.sum()) / fs,
        "report_span": [settings.start + a / fs, settings.start + b / fs],
        "geometry": {
            "kernel_length": settings.inference_kernel_length,
            "inference_sampling_rate": settings.inference_sampling_rate,
            "batch_size": settings.inference_batch_size,
            "max_latency": settings.max_latency,
        },
        "inference_seconds": infer_seconds,
        "throughput": span.duration / infer_seconds if infer_seconds > 0 else None,
        "wall_seconds": None,
        "background_channel": background_name,
    }
    if (b - a) / fs >= 4 * 2.0:  # at least a few ASD segments
        bg = None if background is None else background[first + a : first + b]
        report.update(cleaning_report(raw[a:b], cleaned[a:b], fs, bands, background=bg))
    else:
        logger.warning("less than 8 s of contiguous analysis-ready data; no ASD ratios reported")
    report["wall_seconds"] = time.monotonic() - started
    _write_json(Path(settings.output_dir) / REPORT_FILE, report)
    return report


def _write_frames(settings: OfflineSettings, cleaned: np.ndarray, raw_missing) -> list[Path]:
    out = Path(settings.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    per_s = int(round(settings.sample_rate))
    name = cleaned_channel(settings.ifo)
    missing = set(raw_missing)
    paths = []
    for i in range(settings.duration):
        gps = settings.start + i
        if gps in missing:  # no raw data for this second: nothing to clean
            continue
        data = cleaned[i * per_s : (i + 1) * per_s]
        channel = Channel(name, data, settings.sample_rate, float(gps))
        paths.append(write_frame(out / cleaned_frame_name(settings.ifo, gps), [channel]))
    return paths


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)
