"""LIGO low-latency frame-file naming: ``<site>-<IFO>_<tag>-<GPS>-<duration>.gwf``.

Strain frames live in ``$DATA_DIR/kafka/<IFO>/<site>-<IFO>_llhoft-<GPS>-1.gwf`` and hold
``<IFO>:GDS-CALIB_STRAIN`` (16384 Hz) and ``<IFO>:GDS-CALIB_STATE_VECTOR`` (16 Hz);
witness frames live in ``$DATA_DIR/lldetchar/<IFO>/<site>-<IFO>_lldetchar-<GPS>-1.gwf``.
Pure string/path arithmetic: no file is touched here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from deepclean.utils.ifo import IFO


class FrameKind(StrEnum):
    """The frame streams of a detector, by their file-name tag."""

    STRAIN = "llhoft"
    WITNESS = "lldetchar"
    CLEANED = "llhoft_deepclean"

    @property
    def subdir(self) -> str:
        """Folder under ``$DATA_DIR`` holding this stream (cleaned frames live elsewhere)."""
        return {
            FrameKind.STRAIN: "kafka",
            FrameKind.WITNESS: "lldetchar",
            FrameKind.CLEANED: "cleaned",
        }[self]


STRAIN_RATE_HZ = 16384.0  #: sample rate of GDS-CALIB_STRAIN in low-latency frames
STATE_RATE_HZ = 16.0  #: sample rate of GDS-CALIB_STATE_VECTOR
READY_BITS = 0b11  #: analysis-ready where ``state & READY_BITS == READY_BITS``


def strain_channel(ifo: IFO | str) -> str:
    return f"{IFO(ifo)}:GDS-CALIB_STRAIN"


def state_channel(ifo: IFO | str) -> str:
    return f"{IFO(ifo)}:GDS-CALIB_STATE_VECTOR"


_NAME = re.compile(
    r"^(?P<site>[A-Z])-(?P<ifo>[A-Z][0-9])_(?P<tag>[A-Za-z_]+)-(?P<gps>\d+)-(?P<dur>\d+)\.gwf$"
)


@dataclass(frozen=True)
class FrameName:
    """The parts of a frame file name."""

    ifo: IFO
    tag: str
    gps: int  #: GPS start, seconds
    duration: int = 1  #: seconds

    @property
    def filename(self) -> str:
        return f"{self.ifo.site}-{self.ifo}_{self.tag}-{self.gps}-{self.duration}.gwf"

    @classmethod
    def parse(cls, name: str | Path) -> FrameName:
        """Parse ``H-H1_llhoft-1250921168-1.gwf``; ``ValueError`` names the file if it does not
        match."""
        match = _NAME.match(Path(name).name)
        if match is None:
            raise ValueError(
                f"frame file name {Path(name).name!r} does not match "
                "<site>-<IFO>_<tag>-<GPS>-<duration>.gwf"
            )
        ifo = IFO(match["ifo"])
        if match["site"] != ifo.site:
            raise ValueError(
                f"frame file name {Path(name).name!r}: site {match['site']} does not match {ifo}"
            )
        return cls(ifo=ifo, tag=match["tag"], gps=int(match["gps"]), duration=int(match["dur"]))


def frames_in(
    directory: Path, kind: FrameKind | None = None, ifo: IFO | str | None = None
) -> list[tuple[FrameName, Path]]:
    """``(name, path)`` of the frame files in ``directory`` (none when it does not exist), of
    ``kind`` and ``ifo`` when given, in directory order. Files whose names are not frame names
    (hidden temporary files among them) are passed over."""
    try:
        paths = list(Path(directory).iterdir()) if Path(directory).is_dir() else []
    except FileNotFoundError:  # removed meanwhile
        return []
    found = []
    for path in paths:
        try:
            name = FrameName.parse(path.name)
        except ValueError:
            continue
        if (kind is None or name.tag == kind.value) and (ifo is None or name.ifo == IFO(ifo)):
            found.append((name, path))
    return found


def stream_dir(root: Path, kind: FrameKind, ifo: IFO | str) -> Path:
    """``root/<kafka|lldetchar|cleaned>/<IFO>``."""
    return Path(root) / kind.subdir / str(IFO(ifo))


def frame_path(root: Path, kind: FrameKind, ifo: IFO | str, gps: int, duration: int = 1) -> Path:
    """Path of the frame of ``kind`` starting at ``gps`` under ``root`` (``$DATA_DIR``)."""
    name = FrameName(ifo=IFO(ifo), tag=kind.value, gps=int(gps), duration=duration)
    return stream_dir(root, kind, ifo) / name.filename
