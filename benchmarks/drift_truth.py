"""Cleaning quality against the simulator's truth, per band, over a drift run.

For each archive file the monitor wrote (``$PROJECT_DIR/archive/<IFO>/``: raw strain,
production, canary and OUT_DQ at 4096 Hz, the version channels), the background-only strain
the simulator wrote beside the raw strain (``<IFO>:SIM-BACKGROUND``, 16384 Hz, one file per
second in ``$DATA_DIR/kafka/<IFO>/``) over the same seconds: median-averaged Welch ASDs with
the same FFT length (so the same frequency bins below 2048 Hz), and per cleaning band the mean
over its bins of ASD(series) / ASD(background). 1 = every coupled noise removed; raw's figure
is how much coupled noise there is.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from deepclean.utils.errors import FrameError
from deepclean.utils.frames.gwf_read import read_frame
from deepclean.utils.frames.naming import FrameKind, FrameName, frame_path
from deepclean.utils.products import Flag, Product
from deepclean.utils.signal.asd_ratios import band_ratio
from deepclean.utils.signal.welch import Average, asd
from deepclean.utils.simulation.channels import BACKGROUND

SERIES = {"raw": Product.RAW, "production": Product.PRODUCTION, "canary": Product.CANARY}
SERIES["out_dq"] = Product.OUT_DQ
FFTLENGTH_S = 2.0  #: seconds per Welch FFT (0.5 Hz bins)
MIN_SPAN_S = 64  #: archive files shorter than this are left out (too few FFTs)


def band_label(band: tuple[float, float]) -> str:
    return f"{band[0]:g}-{band[1]:g} Hz"


def _background(data_dir: Path, ifo: str, gps: int, duration: int) -> tuple[np.ndarray, float]:
    """The simulator's background strain over ``[gps, gps + duration)`` and its rate (Hz)."""
    name = f"{ifo}:{BACKGROUND}"
    pieces = [
        read_frame(frame_path(data_dir, FrameKind.STRAIN, ifo, g), [name])[name]
        for g in range(gps, gps + duration)
    ]
    return np.concatenate([p.data for p in pieces]), pieces[0].sample_rate


def _version(values: np.ndarray) -> int:
    """The version that held for most of the span."""
    return int(Counter(np.asarray(values, dtype=int).tolist()).most_common(1)[0][0])


def span_truth(path: Path, data_dir: Path, ifo: str, bands: list[tuple[float, float]]) -> dict:
    """Per series and band, ASD ratio to the background over the archive file ``path``; its end
    GPS and the production/canary versions that held most of it. FrameError when a frame
    is missing or unreadable."""
    span = FrameName.parse(Path(path).name)
    names = [p.channel(ifo) for p in SERIES.values()]
    flags = [Flag.PRODUCTION_VERSION.channel(ifo), Flag.CANARY_VERSION.channel(ifo)]
    frame = read_frame(path, names + flags)
    rate = frame[names[0]].sample_rate
    background, background_rate = _background(data_dir, ifo, span.gps, span.duration)
    freqs, asds = asd(np.stack([frame[n].data for n in names]), rate, FFTLENGTH_S, Average.MEDIAN)
    bg_freqs, bg_asd = asd(background, background_rate, FFTLENGTH_S, Average.MEDIAN)
    if not np.allclose(bg_freqs[: len(freqs)], freqs):
        raise FrameError(f"{path}: frequency bins differ from the background's")
    bg_asd = bg_asd[: len(freqs)]
    record = {
        "gps": span.gps + span.duration,
        "start": span.gps,
        "production_version": _version(frame[flags[0]].data),
        "canary_version": _version(frame[flags[1]].data),
    }
    for (series, _), series_asd in zip(SERIES.items(), asds):
        record[series] = {band_label(b): band_ratio(series_asd, bg_asd, freqs, [b]) for b in bands}
    return record


def run_truth(project: Path, data_dir: Path, ifo: str, bands, every: int = 1, log=print) -> list:
    """:func:`span_truth` of every ``every``-th archive file of at least :data:`MIN_SPAN_S` s, in
    order (a file whose seconds cannot all be read is left out, with a line)."""
    archive = Path(project) / "archive" / ifo
    files = sorted(archive.glob("*.gwf"), key=lambda p: FrameName.parse(p.name).gps)
    files = [p for p in files if FrameName.parse(p.name).duration >= MIN_SPAN_S][::every]
    records = []
    for path in files:
        try:
            records.append(span_truth(path, data_dir, ifo, bands))
        except FrameError as exc:
            log(f"truth: {path.name} left out: {exc}")
    return records
