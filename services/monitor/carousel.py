"""The carousel: the directory of cleaned 1-s frames, kept to at most ``max_files`` files.

The monitor trims it right after each new frame to ``max_files - 1`` files (oldest first),
so the cleaner's next frame brings it to ``max_files`` and the directory never holds more,
as long as the monitor keeps up (it does a few file operations per second). Frames of
spans not yet archived are never deleted (``deletable``); a stuck archive is logged and
the carousel grows rather than losing data.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from deepclean.utils.frames.naming import FrameKind, FrameName, frame_path
from deepclean.utils.ifo import IFO
from deepclean.utils.monitoring.spans import carousel_victims

logger = logging.getLogger(__name__)


class Carousel:
    """The cleaned frames of ``ifo`` under ``project_dir/cleaned/<IFO>/``."""

    def __init__(self, project_dir: Path, ifo: IFO | str, max_files: int) -> None:
        self.project_dir = Path(project_dir)
        self.ifo = IFO(ifo)
        self.directory = frame_path(self.project_dir, FrameKind.CLEANED, self.ifo, 0).parent
        self.max_files = max_files
        self.max_seen = 0  #: the most files seen at once (measured when listing)

    def path(self, gps: int) -> Path:
        return frame_path(self.project_dir, FrameKind.CLEANED, self.ifo, gps)

    def seconds(self) -> list[int]:
        """GPS seconds of the cleaned frames present, sorted (temporary files ignored)."""
        out = []
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                name = FrameName.parse(entry.name)
            except ValueError:
                continue
            if name.tag == FrameKind.CLEANED.value and name.ifo == self.ifo and name.duration == 1:
                out.append(name.gps)
        out.sort()
        self.max_seen = max(self.max_seen, len(out))
        return out

    def trim(self, deletable: set[int], present: list[int] | None = None, room: int = 1) -> list[int]:
        """Delete the oldest deletable frames so that ``max_files - room`` remain; the GPS deleted.
        ``present``: the seconds present, if just listed."""
        present = self.seconds() if present is None else present
        victims = carousel_victims(present, self.max_files - room, deletable)
        for gps in victims:
            try:
                self.path(gps).unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                logger.error("could not delete cleaned frame %s: %s", self.path(gps), exc)
        left = len(present) - len(victims)
        if left > self.max_files - room:
            logger.warning("carousel holds %d frames (max_files %d): the oldest are not archived yet",
                           left, self.max_files)
        return victims
