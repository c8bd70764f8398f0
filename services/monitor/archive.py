"""Archive frames:
``$PROJECT_DIR/archive/<IFO>/<site>-<IFO>_llhoft_deepclean-<GPS>-<duration>.gwf``.

Each file holds every channel of the cleaned frames it was made from (the three products,
raw strain at 4096 Hz, the DeepClean and input state vectors and the version channels),
concatenated sample for sample: reading it back gives exactly the cleaned frames' samples,
or (``float32``, the monitor's default) the strain-like channels rounded to float32 (relative
error at most 2**-24; for strain that is > 3000x below the noise floor at every frequency, see
``docs/operations.md``) and the integer channels exactly.
Spans are aligned to multiples of ``write_cadence`` (128 s by default), so a full span is
``...-<GPS>-128.gwf``. **Gaps stay gaps**: the seconds of a span that are missing (the
cleaner wrote nothing) or unreadable split it into one file per contiguous run, each named
with its own start and duration (e.g. ``-1400000000-40.gwf`` and ``-1400000043-85.gwf``),
so no sample is invented and nothing is joined across a gap; a reader asking for the whole
span sees the gap. Files are written atomically (``gwf.write_frame``: temporary name,
``os.replace``); which seconds are archived is read back from the file names, which is how
the monitor resumes after a restart. Retention deletes the oldest files by age or total size.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from deepclean.utils.errors import FrameError
from deepclean.utils.frames.gwf import Channel, read_frame, write_frame
from deepclean.utils.frames.naming import FrameKind, FrameName, frames_in
from deepclean.utils.ifo import IFO
from deepclean.utils.monitoring.spans import covered, retention_victims, runs
from deepclean.utils.products import cleaned_channels

logger = logging.getLogger(__name__)


class Archive:
    """Archive files of ``ifo`` under ``project_dir/archive/<IFO>/``."""

    def __init__(
        self,
        project_dir: Path,
        ifo: IFO | str,
        *,
        max_age: float | None = None,
        max_bytes: int | None = None,
        float32: bool = False,
    ) -> None:
        self.ifo = IFO(ifo)
        self.float32 = float32  #: store the strain-like (float64) channels as float32
        self.directory = Path(project_dir) / "archive" / str(self.ifo)
        self.max_age = max_age
        self.max_bytes = max_bytes

    def path(self, gps: int, duration: int) -> Path:
        return (
            self.directory
            / FrameName(
                ifo=self.ifo, tag=FrameKind.CLEANED.value, gps=gps, duration=duration
            ).filename
        )

    def files(self) -> list[tuple[int, int, Path]]:
        """``(gps, duration, path)`` of the archive files present, oldest first."""
        found = frames_in(self.directory, FrameKind.CLEANED, self.ifo)
        return sorted((name.gps, name.duration, path) for name, path in found)

    def archived(self, start: int, end: int) -> set[int]:
        """The GPS seconds of ``[start, end)`` that archive files cover."""
        spans = [
            (gps, duration)
            for gps, duration, _ in self.files()
            if gps < end and gps + duration > start
        ]
        return {g for g in covered(spans) if start <= g < end}

    def write(
        self, start: int, end: int, source: Callable[[int], Path]
    ) -> tuple[list[Path], list[int]]:
        """Archive seconds ``[start, end)`` read with ``source(gps) -> path``; return the files
        written and the seconds that could not be read (left out: gaps)."""
        names = cleaned_channels(self.ifo)
        seconds: dict[int, dict[str, Channel]] = {}
        bad = []
        for gps in range(start, end):
            try:
                seconds[gps] = read_frame(
                    source(gps), names, expected_t0=gps, expected_duration=1.0
                )
            except FrameError as exc:
                logger.warning("not archiving second %d: %s", gps, exc)
                bad.append(gps)
        written = []
        for run_start, run_end in runs(seconds):
            channels = []
            for name in names:
                first = seconds[run_start][name]
                data = np.concatenate([seconds[g][name].data for g in range(run_start, run_end)])
                if self.float32 and data.dtype == np.float64:
                    data = data.astype(np.float32)  # round to nearest: error <= 2**-24 relative
                channels.append(
                    Channel(
                        name=name, data=data, sample_rate=first.sample_rate, t0=float(run_start)
                    )
                )
            path = write_frame(self.path(run_start, run_end - run_start), channels)
            written.append(path)
        return written, bad

    def enforce_retention(self, newest_gps: int) -> list[Path]:
        """Delete the archive files that retention no longer keeps; the paths deleted."""
        if self.max_age is None and self.max_bytes is None:
            return []
        files = self.files()
        sizes = []
        for gps, duration, path in files:
            try:
                sizes.append((gps, duration, path.stat().st_size))
            except FileNotFoundError:
                continue
        victims = set(retention_victims(sizes, newest_gps, self.max_age, self.max_bytes))
        deleted = []
        for gps, _, path in files:
            if gps in victims:
                try:
                    os.unlink(path)
                    deleted.append(path)
                except OSError as exc:
                    logger.error("could not delete archive file %s: %s", path, exc)
        if deleted:
            logger.info(
                "archive retention deleted %d file(s), oldest %s", len(deleted), deleted[0].name
            )
        return deleted
