"""Clean a span offline with a trained model, as the streaming cleaner would, and report.

Steps: check everything that can be checked first (output directory writable and free of
earlier results, weights finite, geometry, context not outweighing the span, memory), read
``[start - pre, start + duration + post)`` (the extra seconds fill the snapshotter, the
averager and the band-pass filter), predict the noise with the streaming windowing and
averaging, band-pass it, gate it by analysis readiness, subtract it, summarise the ASD
ratios, and only then, when every sample is finite and the band did not get worse
(``max_in_band_ratio``), write one cleaned frame per second of ``[start, start + duration)``
whose frames exist and ``report.json``. A failure while writing removes the frames this
run wrote.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from deepclean.services.offline.report import build_report, check_ratio
from deepclean.services.offline.settings import OfflineSettings
from deepclean.utils.config import check_output_dir
from deepclean.utils.errors import ConfigError, OutputExistsError
from deepclean.utils.files import atomic_write_text
from deepclean.utils.frames.gwf import Channel, write_frame
from deepclean.utils.frames.naming import FrameKind, FrameName
from deepclean.utils.frames.span import Span
from deepclean.utils.ifo import IFO
from deepclean.utils.nn.inference import predict_noise, warmup_samples
from deepclean.utils.signal.filters import BandpassFilter
from deepclean.utils.signal.gate import ready_gate
from deepclean.utils.signal.postprocess import filter_noise
from deepclean.utils.streaming import StreamGeometry
from deepclean.utils.training.artifacts import load_model
from deepclean.utils.training.preflight import (
    check_context,
    check_finite,
    check_finite_json,
    check_span_memory,
)
from deepclean.utils.training.span_io import load_span

logger = logging.getLogger(__name__)

REPORT_FILE = "report.json"
PROGRESS_EVERY_S = 10.0  #: wall seconds between inference progress lines
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


def existing_outputs(settings: OfflineSettings) -> list[Path]:
    """Cleaned frames of the span and ``report.json`` already in ``output_dir``."""
    out = Path(settings.output_dir)
    if not out.is_dir():
        return []
    found = []
    for path in sorted(out.iterdir()):
        try:
            name = FrameName.parse(path.name)
        except ValueError:
            continue
        if (
            name.ifo == IFO(settings.ifo)
            and name.tag == FrameKind.CLEANED.value
            and (settings.start <= name.gps < settings.start + settings.duration)
        ):
            found.append(path)
    return found + [out / REPORT_FILE] * (out / REPORT_FILE).exists()


def _read_span(
    settings: OfflineSettings, channels: list[str], before: int, after: int
) -> tuple[Span, str | None]:
    """The span to clean with ``before``/``after`` seconds of context, and its background channel
    (ConfigError if its channels are not the model's)."""
    logger.info(
        "reading GPS %d-%d (%d s of context before, %d s after) for model %s",
        settings.start - before,
        settings.start + settings.duration + after,
        before,
        after,
        settings.weights,
    )
    span, background_name = load_span(
        settings.data_dir,
        settings.ifo,
        channels,
        settings.start - before,
        settings.duration + before + after,
        sample_rate=settings.sample_rate,
        background_channel=settings.background_channel,
    )
    if list(span.channels) != channels:
        raise ConfigError(f"span channels {list(span.channels)} differ from the model's {channels}")
    return span, background_name


def clean_offline(
    settings: OfflineSettings, *, allow_worse: bool = False, overwrite: bool = False
) -> dict:
    """Run the whole job; return the report (also written to ``output_dir/report.json``).

    ``allow_worse``: write even when the in-band ratio is above ``max_in_band_ratio``;
    ``overwrite``: replace cleaned frames and a report already in ``output_dir``.
    """
    started = time.monotonic()
    existing = _check_output(settings, overwrite)
    torch.set_num_threads(settings.num_threads)
    model, meta = _load_model(settings)
    fs = settings.sample_rate
    bands = [tuple(b) for b in meta.bands]
    filter_bands = [tuple(b) for b in meta.filter_bands]
    geometry = settings.stream_geometry()
    pad = padding(geometry, fs, settings.filter_pad)
    check_context(settings.duration, pad.before, pad.after, settings.inference_kernel_length)
    read_seconds = settings.duration + pad.before + pad.after
    check_span_memory(len(meta.channels), read_seconds, fs, "duration", settings.duration)
    span, background_name = _read_span(settings, meta.channels, pad.before, pad.after)
    raw, cleaned, (first, n), infer_seconds = _clean(
        settings, model, span, geometry, pad.before, filter_bands
    )

    report = build_report(
        settings, span, background_name, raw, cleaned, (first, n), bands, filter_bands
    )
    report["inference_seconds"] = infer_seconds
    report["throughput"] = span.duration / infer_seconds if infer_seconds > 0 else None
    check_ratio(settings, report.get("in_band_ratio"), allow_worse)
    report["wall_seconds"] = time.monotonic() - started
    text = check_finite_json(report, "report")
    written = _write_frames(settings, cleaned, raw_missing=span.missing)
    try:
        atomic_write_text(Path(settings.output_dir) / REPORT_FILE, text + "\n")
    except BaseException:
        for path in written:
            if path not in existing:
                path.unlink(missing_ok=True)
        raise
    return report


def _clean(settings: OfflineSettings, model, span, geometry, before_s: int, filter_bands: list):
    """Predict the noise over the span, band-pass it, gate it at analysis-ready edges and
    subtract it; ``(raw, cleaned, (first sample, samples), inference seconds)``."""
    fs = settings.sample_rate
    per_s = int(round(fs))
    t_infer = time.monotonic()
    logger.info(
        "inference over %d windows of %g s (%d per request, %s stream mode)",
        span.data.shape[1] // geometry.stride,
        settings.inference_kernel_length,
        geometry.batch_size,
        geometry.mode.value,
    )
    updates = span.data.shape[1] // geometry.update_size
    noise = predict_noise(
        _Progress(model, updates, geometry.update_size / fs), span.data[1:], geometry
    )
    infer_seconds = time.monotonic() - t_infer
    first, n = before_s * per_s, settings.duration * per_s
    memory = lead = int(round(settings.filter_pad * fs))
    bandpass = BandpassFilter(tuple(filter_bands), fs)
    filtered = filter_noise(noise[first - memory : first + n + lead], bandpass, memory, lead)
    gate = ready_gate(span.ready, int(round(settings.ready_taper * fs)))[first : first + n]
    raw = span.data[0, first : first + n]
    cleaned = raw - gate * filtered
    check_finite(
        cleaned,
        f"cleaned strain of model {settings.weights} on GPS {settings.start}+{settings.duration} s",
    )
    return raw, cleaned, (first, n), infer_seconds


def _check_output(settings: OfflineSettings, overwrite: bool) -> list[Path]:
    """The results already in ``output_dir`` (none unless ``overwrite``); the folder writable."""
    check_output_dir(settings.output_dir, "output_dir")
    existing = existing_outputs(settings)
    if existing and not overwrite:
        raise OutputExistsError(
            f"setting output_dir = {str(settings.output_dir)!r} already holds "
            f"{len(existing)} result(s) for "
            f"GPS {settings.start}+{settings.duration} s (first {existing[0].name}); give "
            "--overwrite to replace "
            "them, or another --output-dir"
        )
    return existing


def _load_model(settings: OfflineSettings):
    """The trained model and its metadata, checked against the settings."""
    model, meta = load_model(settings.weights)
    fs = settings.sample_rate
    if meta.sample_rate != fs:
        raise ConfigError(
            f"model {settings.weights} was trained at {meta.sample_rate} Hz, not "
            f"sample_rate {fs} Hz"
        )
    if [tuple(b) for b in settings.bands] != [tuple(b) for b in meta.bands]:
        logger.warning(
            "cleaning band(s) %s differ from the model's %s; using the model's",
            settings.bands,
            meta.bands,
        )
    return model, meta


class _Progress:
    """The model, logging inference progress every :data:`PROGRESS_EVERY_S` wall seconds."""

    def __init__(self, model: torch.nn.Module, updates: int, seconds_per_update: float) -> None:
        self.model, self.updates, self.seconds_per_update = model, updates, seconds_per_update
        self.done = 0
        self.started = self.last = time.monotonic()

    def eval(self) -> _Progress:
        self.model.eval()
        return self

    def __call__(self, windows: torch.Tensor) -> torch.Tensor:
        out = self.model(windows)
        self.done += 1
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY_S:
            self.last = now
            rate = self.done * self.seconds_per_update / (now - self.started)
            logger.info(
                "inference: %d of %d updates (%.0f%%), %.1f s of data per s, about %.0f s left",
                self.done,
                self.updates,
                100 * self.done / max(self.updates, 1),
                rate,
                (self.updates - self.done) * self.seconds_per_update / rate
                if rate > 0
                else float("nan"),
            )
        return out


def _write_frames(settings: OfflineSettings, cleaned: np.ndarray, raw_missing) -> list[Path]:
    out = Path(settings.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    per_s = int(round(settings.sample_rate))
    name = cleaned_channel(settings.ifo)
    missing = set(raw_missing)
    paths: list[Path] = []
    created: list[Path] = []
    try:
        for i in range(settings.duration):
            gps = settings.start + i
            if gps in missing:  # no raw data for this second: nothing to clean
                continue
            data = cleaned[i * per_s : (i + 1) * per_s]
            channel = Channel(name, data, settings.sample_rate, float(gps))
            path = out / cleaned_frame_name(settings.ifo, gps)
            new = not path.exists()
            paths.append(write_frame(path, [channel]))
            if new:
                created.append(path)
    except BaseException:
        for path in created:  # no half-written span of new frames is left behind
            path.unlink(missing_ok=True)
        raise
    return paths
