"""The carousel: the directory of cleaned 1-s frames, kept to at most ``max_files`` files.

The monitor trims it at the start of every cycle (before reading new frames) to
``max_files - headroom`` files (oldest first); frames of spans not yet archived are never
deleted. The directory never holds more than ``max_files`` as long as the cleaner writes at
most ``headroom`` frames during one monitor cycle (a listing, at most one archive write, the
new frames' reads: ~10 ms per frame, ~0.1-0.3 s for an archive write under load). At 1 frame/s
that is a wide margin; the headroom is for a cleaner catching up after a Triton stall, which
writes raw strain at up to ~80 frames/s (bursts of 10-30 frames were measured in
tests/services/monitor/test_monitor_pipeline.py). A stuck archive is logged and the
carousel grows rather than losing data. The directory is created and watched before the
cleaner's first frame.
"""

from __future__ import annotations

import logging
from pathlib import Path

from deepclean.utils.frames.naming import FrameKind, frame_path, frames_in
from deepclean.utils.ifo import IFO
from deepclean.utils.monitoring.spans import carousel_victims

logger = logging.getLogger(__name__)


class Carousel:
    """The cleaned frames of ``ifo`` under ``project_dir/cleaned/<IFO>/``."""

    def __init__(
        self, project_dir: Path, ifo: IFO | str, max_files: int, headroom: int = 0
    ) -> None:
        self.project_dir = Path(project_dir)
        self.ifo = IFO(ifo)
        self.directory = frame_path(self.project_dir, FrameKind.CLEANED, self.ifo, 0).parent
        self.max_files = max_files
        self.headroom = headroom
        self.max_seen = 0  #: the most files seen at once (measured when listing)

    def path(self, gps: int) -> Path:
        return frame_path(self.project_dir, FrameKind.CLEANED, self.ifo, gps)

    def seconds(self) -> list[int]:
        """GPS seconds of the cleaned frames present, sorted (temporary files ignored)."""
        found = frames_in(self.directory, FrameKind.CLEANED, self.ifo)
        out = sorted(name.gps for name, _ in found if name.duration == 1)
        self.max_seen = max(self.max_seen, len(out))
        return out

    def trim(self, deletable: set[int], present: list[int] | None = None) -> list[int]:
        """Delete the oldest deletable frames so that ``max_files - headroom`` remain; the GPS
        deleted. ``present``: the seconds present, if just listed."""
        present = self.seconds() if present is None else present
        keep = self.max_files - self.headroom
        victims = carousel_victims(present, keep, deletable)
        for gps in victims:
            try:
                self.path(gps).unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                logger.error("could not delete cleaned frame %s: %s", self.path(gps), exc)
        left = len(present) - len(victims)
        if left > keep:
            logger.warning(
                "carousel holds %d frames (max_files %d): the oldest are not archived yet",
                left,
                self.max_files,
            )
        return victims
