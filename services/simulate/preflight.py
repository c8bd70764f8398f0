"""Checks ``deepclean simulate`` makes before it writes anything.

* the data directory and the channel-list file can be written;
* the whole span fits in GWF (GPS seconds are 32-bit) and on the disk;
* nothing is written over: frames already in the data directory for the requested span,
  or a channel list with other channels, stop the run unless ``--overwrite`` is given.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from deepclean.services.simulate.settings import SimulateSettings, check_gps_span
from deepclean.utils.config import check_output_dir, check_output_file
from deepclean.utils.errors import ConfigError, OutputExistsError, ResourceError, read_text_file
from deepclean.utils.frames.naming import FrameKind, FrameName, stream_dir
from deepclean.utils.simulation.detector import DetectorConfig, SimulatedDetector

logger = logging.getLogger(__name__)

FILE_OVERHEAD_BYTES = 8192  #: GWF headers and table of contents per frame file, about
DISK_RESERVE = 1.1  #: free space needed beyond the estimate (10% to spare)


def frame_bytes_per_second(config: DetectorConfig, truth: bool) -> int:
    """Bytes the strain and witness frames of one second take on disk (float64 samples)."""
    strain = SimulatedDetector.strain_rate * 8 * (2 if truth else 1) + 16 * 4
    witnesses = sum(config.rates().values()) * 8
    return strain + witnesses + 2 * FILE_OVERHEAD_BYTES


def existing_frames(data_dir: Path, ifo, start: int, end: int | None) -> list[Path]:
    """Frame files of ``ifo`` (strain and witness streams) starting in ``[start, end)`` (``end``
    None: any later second) already in ``data_dir``."""
    found = []
    for kind in (FrameKind.STRAIN, FrameKind.WITNESS):
        folder = stream_dir(data_dir, kind, ifo)
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            try:
                name = FrameName.parse(path.name)
            except ValueError:
                continue
            if name.tag == kind.value and name.gps >= start and (end is None or name.gps < end):
                found.append(path)
    return sorted(found)


def check_before_writing(
    settings: SimulateSettings, start: int, config: DetectorConfig, channels_file: Path, *, overwrite: bool
) -> bool:
    """Raise before anything is written if the run cannot or must not happen; return whether
    the channel list must be (re)written (False when the same list is there already)."""
    check_output_dir(settings.data_dir, "data_dir")
    check_output_file(channels_file, "channels_file")
    if settings.duration is not None:
        try:
            check_gps_span(start, settings.duration)
        except ValueError as exc:
            raise ConfigError(f"setting duration = {settings.duration}: {exc}") from None
        need = frame_bytes_per_second(config, settings.truth) * settings.duration * DISK_RESERVE
        folder = Path(settings.data_dir)
        while not folder.exists() and folder.parent != folder:
            folder = folder.parent
        free = shutil.disk_usage(folder).free
        if need > free:
            raise ResourceError(
                f"setting duration = {settings.duration}: the frames need about {_size(need)} but {folder} has "
                f"{_size(free)} free; allowed: at most {int(free / need * settings.duration)} s here"
            )
    end = None if settings.duration is None else start + settings.duration
    existing = existing_frames(settings.data_dir, settings.ifo, start, end)
    wanted = "\n".join(config.channel_list()) + "\n"
    current = read_text_file(channels_file, "channel list file") if channels_file.is_file() else None
    if overwrite:
        if existing:
            logger.warning("--overwrite: replacing %d existing frame file(s) from GPS %d on", len(existing), start)
        return current != wanted
    if existing:
        span = f"GPS {start}-{end}" if end is not None else f"GPS {start} on"
        raise OutputExistsError(
            f"setting data_dir = {str(settings.data_dir)!r} already holds {len(existing)} frame file(s) of "
            f"{settings.ifo} for {span} (first {existing[0].name}); give --overwrite to replace them, "
            "or another --start or --data-dir"
        )
    if current is not None and current != wanted:
        raise OutputExistsError(
            f"channel list {channels_file} already lists other channels than this simulation writes; "
            "give --overwrite to replace it, or another --channels-file or --data-dir"
        )
    return current != wanted


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"
