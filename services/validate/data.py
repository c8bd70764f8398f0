"""The series ``validate`` compares, on one 4096 Hz grid: raw, the cleaned products, the truth.

Two sources of cleaned data:

* the live pipeline's (``cleaned_dir`` None): one-second frames in
  ``$PROJECT_DIR/cleaned/<IFO>/`` (the carousel) and longer ones in
  ``$PROJECT_DIR/archive/<IFO>/``, with every product and the raw strain they were made from;
* ``clean-offline`` output (``cleaned_dir``): one-second frames with PRODUCTION only; raw
  strain is read from ``$DATA_DIR`` the way ``clean-offline`` reads it.

A reference (``reference_dir``: ``clean-offline`` output of the same span simulated without
the injections) gives each cleaned series without the signal, for exact recovered fractions.

The injected signal (``<IFO>:SIM-INJECTION``) is read from the strain frames in
``$DATA_DIR`` and resampled to the cleaned rate exactly as strain is (the resampler is
linear, so raw - truth is the raw strain without the signal). Missing seconds are NaN.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepclean.utils.channels import parse_channels
from deepclean.utils.errors import FrameError
from deepclean.utils.frames.gwf import list_channels, read_frame
from deepclean.utils.frames.naming import FrameKind, frames_in
from deepclean.utils.frames.span import read_span
from deepclean.utils.ifo import IFO
from deepclean.utils.products import CLEANED_RATE_HZ, Product
from deepclean.utils.simulation.channels import INJECTION, full_name

logger = logging.getLogger(__name__)

SERIES_NAMES = {
    Product.RAW: "raw",
    Product.PRODUCTION: "production",
    Product.OUT_DQ: "out_dq",
    Product.CANARY: "canary",
}


@dataclass
class Data:
    """Series over ``[start, start + duration)`` at ``sample_rate`` (NaN where missing)."""

    start: int
    duration: int
    sample_rate: float
    series: dict[str, np.ndarray] = field(default_factory=dict)  #: raw, production, ...
    truth: np.ndarray | None = None  #: the injected signal, resampled; None: not in the frames
    reference: dict[str, np.ndarray] = field(default_factory=dict)  #: series cleaned without it

    def cut(self, name: str, a: float, b: float) -> np.ndarray:
        """Samples of series ``name`` (or "truth") over GPS ``[a, b)`` (whole samples)."""
        if name == "truth":
            x = self.truth
        elif name.startswith("reference:"):
            x = self.reference[name.partition(":")[2]]
        else:
            x = self.series[name]
        i = int(round((a - self.start) * self.sample_rate))
        j = int(round((b - self.start) * self.sample_rate))
        if i < 0 or j > len(x):
            raise ValueError(f"GPS {a}-{b} is outside the data {self.start}+{self.duration} s")
        return x[i:j]


def cleaned_files(folder: Path, ifo: IFO | str) -> list[tuple[int, int, Path]]:
    """``(gps, duration, path)`` of the cleaned frame files in ``folder``."""
    found = frames_in(folder, FrameKind.CLEANED, ifo)
    return sorted((name.gps, name.duration, path) for name, path in found)


def source_folders(project_dir: Path, ifo: IFO | str, cleaned_dir: Path | None) -> list[Path]:
    if cleaned_dir is not None:
        return [Path(cleaned_dir)]
    return [
        Path(project_dir) / "archive" / str(IFO(ifo)),
        Path(project_dir) / "cleaned" / str(IFO(ifo)),
    ]


def available_span(folders: list[Path], ifo: IFO | str) -> tuple[int, int] | None:
    """``(start, end)`` GPS covered by the cleaned files (gaps included)."""
    files = [f for folder in folders for f in cleaned_files(folder, ifo)]
    if not files:
        return None
    return min(g for g, _, _ in files), max(g + d for g, d, _ in files)


def read_cleaned(
    folders: list[Path], ifo: IFO | str, start: int, duration: int
) -> dict[str, np.ndarray]:
    """Every product found in the cleaned files over the span (NaN where missing)."""
    fs = int(CLEANED_RATE_HZ)
    series: dict[str, np.ndarray] = {}
    end = start + duration
    for folder in folders:
        for gps, length, path in cleaned_files(folder, ifo):
            if gps + length <= start or gps >= end:
                continue
            try:
                names = [
                    p.channel(ifo) for p in SERIES_NAMES if p.channel(ifo) in list_channels(path)
                ]
                channels = read_frame(path, names)
            except (FrameError, OSError) as exc:
                logger.warning("unreadable cleaned frame %s left out: %s", path.name, exc)
                continue
            for product, key in SERIES_NAMES.items():
                channel = channels.get(product.channel(ifo))
                if channel is None:
                    continue
                target = series.setdefault(key, np.full(duration * fs, np.nan))
                a, b = max(gps, start), min(gps + length, end)
                target[(a - start) * fs : (b - start) * fs] = channel.data[
                    (a - gps) * fs : (b - gps) * fs
                ]
    return series


def load(
    data_dir: Path,
    project_dir: Path,
    ifo: IFO | str,
    channels_file: Path,
    start: int,
    duration: int,
    cleaned_dir: Path | None,
    reference_dir: Path | None = None,
) -> Data:
    """Raw, cleaned products and truth over ``[start, start + duration)`` at 4096 Hz."""
    fs = CLEANED_RATE_HZ
    series = read_cleaned(source_folders(project_dir, ifo, cleaned_dir), ifo, start, duration)
    if not series:
        where = cleaned_dir or Path(project_dir) / "cleaned"
        raise FrameError(f"no cleaned frame of {ifo} for GPS {start}+{duration} s in {where}")
    truth_name = full_name(ifo, INJECTION)
    channels = parse_channels(channels_file, ifo)
    extras = []
    try:
        first = next(Path(data_dir, "kafka", str(IFO(ifo))).glob("*.gwf"), None)
        if first is not None and truth_name in list_channels(first):
            extras = [truth_name]
    except (FrameError, OSError):
        pass
    span = read_span(data_dir, ifo, channels, start, duration, fs, extra_strain_channels=extras)
    missing = np.zeros(duration * int(fs), dtype=bool)
    for gps in span.missing:
        missing[(gps - start) * int(fs) : (gps - start + 1) * int(fs)] = True
    if "raw" not in series:  # clean-offline output: raw as clean-offline read it
        series["raw"] = np.where(missing, np.nan, span.data[0])
    truth = None
    if extras:
        truth = np.where(missing, np.nan, span.extras[truth_name])
    else:
        logger.warning("no %s in the strain frames: recovered fractions not computed", truth_name)
    reference = {}
    if reference_dir is not None:
        reference = read_cleaned([Path(reference_dir)], ifo, start, duration)
        if truth is not None and "raw" in series:
            reference.setdefault("raw", series["raw"] - truth)
    return Data(start, duration, fs, series, truth, reference)
