"""What a soak left on disk, checked without asking any service (reads frames, compares samples).

For the GPS seconds ``[start, end)``: a second is *expected* when its strain frame is on disk
and readable (the simulator drops some on purpose; a frame that never came has no cleaned
second, by design) and came in time: a missing output whose strain frame completed more than
``frame_timeout`` seconds (the cleaner's wait, 2 s) after the end of its second, or after the
next second's frame, was dropped by the cleaner by design and is counted as *late*, not lost
(file modification times; the simulator falls behind on a loaded machine, and a frame written
in pieces can complete after the next one); it is *lost* when expected but neither the carousel
(``$PROJECT_DIR/cleaned/<IFO>/``) nor the archive (``$PROJECT_DIR/archive/<IFO>/``) holds it;
*unwritable* when lost but within a disk-full fault's
window (a second that would have been written while the disk was full, with a latency up to
``FULL_LATENCY`` s; from 2 s after space came back, nothing is excused): the cleaner cannot
write it and skips it, counting it in ``deepclean_cleaner_frames_not_written``);
*mismatched* when both hold it with different samples; *rewritten* when a watcher saw its
cleaned file replaced during the run (a second written twice); *nan* when its OUT_DQ holds a
NaN or an infinity (the frame reader refuses such a file whole: every second of it counts).
A soak passes when lost, mismatched, rewritten and nan are all empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepclean.utils.errors import FrameError
from deepclean.utils.frames.gwf import read_frame
from deepclean.utils.frames.naming import FrameKind, FrameName, strain_channel, stream_dir
from deepclean.utils.ifo import IFO
from deepclean.utils.products import CLEANED_RATE_HZ, Product

SAMPLES = int(CLEANED_RATE_HZ)
FULL_LATENCY = (
    10  #: s: the longest latency for which a second counts as due while the disk was full
)


@dataclass
class Verification:
    """The outcome; the lists hold GPS seconds."""

    start: int
    end: int
    expected: int = 0  #: seconds with a readable strain frame
    cleaned: int = 0  #: of those, with a cleaned second
    dropped_input: list[int] = field(default_factory=list)  #: no readable strain frame
    late: list[int] = field(default_factory=list)  #: strain frame came after the cleaner's wait
    lost: list[int] = field(default_factory=list)
    unwritable: list[int] = field(default_factory=list)  #: lost while the disk was full
    mismatched: list[int] = field(default_factory=list)
    rewritten: list[int] = field(default_factory=list)
    nan: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.mismatched or self.rewritten or self.nan)

    def summary(self) -> str:
        return (
            f"GPS {self.start}-{self.end}: {self.expected} s of input, {self.cleaned} cleaned, "
            f"{len(self.lost)} lost, {len(self.rewritten)} written twice, "
            f"{len(self.mismatched)} carousel/archive mismatches, {len(self.nan)} with NaN in "
            f"OUT_DQ; {len(self.dropped_input)} s without a readable strain frame, "
            f"{len(self.late)} s of input late (dropped by the cleaner's timeout)"
            + (f", {len(self.unwritable)} s not writable (disk full)" if self.unwritable else "")
        )


def _names(directory: Path) -> list[tuple[FrameName, Path]]:
    out = []
    if directory.is_dir():
        for path in directory.iterdir():
            try:
                out.append((FrameName.parse(path.name), path))
            except ValueError:
                continue
    return out


def cleaned_out_dq(project_dir: Path, ifo: IFO | str) -> tuple[dict, dict, set[int]]:
    """OUT_DQ per second (4096 samples) from the carousel and from the archive, and the seconds
    of files the reader refused for NaN or infinite samples (it refuses them whole)."""
    channel = Product.OUT_DQ.channel(ifo)
    nonfinite: set[int] = set()

    def read(path: Path, name: FrameName) -> np.ndarray | None:
        try:
            return read_frame(path, [channel])[channel].data
        except FrameError as exc:
            if "NaN/Inf" in str(exc):
                nonfinite.update(range(name.gps, name.gps + name.duration))
            return None
        except OSError:
            return None  # deleted by the carousel while we read: the archive holds it

    carousel: dict[int, np.ndarray] = {}
    for name, path in _names(Path(project_dir) / "cleaned" / str(IFO(ifo))):
        data = read(path, name)
        if data is not None:
            carousel[name.gps] = data
    archive: dict[int, np.ndarray] = {}
    for name, path in _names(Path(project_dir) / "archive" / str(IFO(ifo))):
        data = read(path, name)
        for i in range(name.duration if data is not None else 0):
            archive[name.gps + i] = data[i * SAMPLES : (i + 1) * SAMPLES]
    return carousel, archive, nonfinite


def strain_frames(data_dir: Path, ifo: IFO | str, start: int, end: int) -> dict[int, tuple]:
    """GPS -> (modification time, readable) of the strain frames of ``[start - 1, end + 1)``."""
    channel = strain_channel(ifo)
    found = {}
    for name, path in _names(stream_dir(data_dir, FrameKind.STRAIN, ifo)):
        if start - 1 <= name.gps < end + 1:
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            try:
                read_frame(path, [channel])
                readable = True
            except (FrameError, OSError):
                readable = False
            found[name.gps] = (mtime, readable)
    return found


def is_late(frames: dict[int, tuple], gps: int, frame_timeout: float, gps_offset: float) -> bool:
    """Whether the strain frame of ``gps`` completed more than ``frame_timeout`` s after the end
    of its second (``gps_offset``: GPS - Unix seconds) or after the next second's frame."""
    mtime = frames[gps][0]
    after = frames.get(gps + 1)
    return bool(
        mtime + gps_offset - (gps + 1) > frame_timeout or (after is not None and mtime > after[0])
    )


def verify(
    data_dir: Path,
    project_dir: Path,
    ifo: IFO | str,
    start: int,
    end: int,
    rewritten: set[int] = frozenset(),
    frame_timeout: float = 2.0,
    gps_offset: float | None = None,
    full: list[tuple[float, float]] = (),
) -> Verification:
    """Check ``[start, end)`` (see the module docstring); ``rewritten``: what the watcher saw;
    ``gps_offset``: GPS - Unix seconds (None: now's, from LAL's leap seconds); ``full``: the
    (GPS from, GPS to) of each disk-full fault."""
    if gps_offset is None:
        import time

        from deepclean.services.monitor.served import unix_to_gps

        now = time.time()
        gps_offset = unix_to_gps(now) - now
    carousel, archive, nonfinite = cleaned_out_dq(project_dir, ifo)
    frames = strain_frames(data_dir, ifo, start, end)
    result = Verification(start, end, rewritten=sorted(g for g in rewritten if start <= g < end))
    for gps in range(start, end):
        held = [x for x in (carousel.get(gps), archive.get(gps)) if x is not None]
        if gps not in frames or not frames[gps][1]:
            result.dropped_input.append(gps)
            continue
        if not held and is_late(frames, gps, frame_timeout, gps_offset):
            result.late.append(gps)
            continue
        result.expected += 1
        if gps in nonfinite:
            result.nan.append(gps)
        if not held:
            in_full = any(a - 1 - FULL_LATENCY <= gps <= b + 2 for a, b in full)
            (result.unwritable if in_full else result.lost).append(gps)
            continue
        result.cleaned += 1
        # the archive may keep strain-like channels in float32 (the monitor's archive_float64
        # off): the carousel's samples rounded to its type must be exactly the archive's
        if len(held) == 2 and not np.array_equal(held[0].astype(held[1].dtype), held[1]):
            result.mismatched.append(gps)
        if any(not np.isfinite(x).all() for x in held) and gps not in nonfinite:
            result.nan.append(gps)
    return result
