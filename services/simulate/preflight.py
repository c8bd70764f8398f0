"""Checks ``deepclean simulate`` makes before it writes anything.

* the data directory and the channel-list file can be written;
* the whole span fits in GWF (GPS seconds are 32-bit) and on the disk;
* nothing is written over: frames already in the data directory for the requested span,
  or a channel list with other channels, stop the run unless ``--overwrite`` is given;
  except that a run with the same seed and settings as the one that wrote them (recorded in
  ``$DATA_DIR/.simulate-<IFO>.json``) continues, keeping every complete frame that is there
  and writing only the others (an interrupted backfill is resumed this way).
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from deepclean.services.simulate.faults import FaultPlan
from deepclean.services.simulate.settings import SimulateSettings, Stream, check_gps_span
from deepclean.utils.config import check_output_dir, check_output_file
from deepclean.utils.disk import human_bytes
from deepclean.utils.errors import (
    ConfigError,
    FrameError,
    OutputExistsError,
    ResourceError,
    read_text_file,
)
from deepclean.utils.files import atomic_write_text
from deepclean.utils.frames.checksum import verify_gwf_bytes
from deepclean.utils.frames.naming import FrameKind, FrameName, frame_path, stream_dir
from deepclean.utils.simulation.detector import DetectorConfig, SimulatedDetector

logger = logging.getLogger(__name__)

FILE_OVERHEAD_BYTES = 8192  #: GWF headers and table of contents per frame file, about
DISK_RESERVE = 1.1  #: free space needed beyond the estimate (10% to spare)


def frame_bytes_per_second(config: DetectorConfig, truth: bool, injecting: bool = False) -> int:
    """Bytes the strain and witness frames of one second take on disk (float64 samples;
    the truth channels: background, and the injected signal when ``injecting``)."""
    series = 1 + (1 + injecting if truth else 0)
    strain = SimulatedDetector.strain_rate * 8 * series + 16 * 4
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


#: settings that do not change what is written (only when, where, how fast)
_NOT_DATA = {
    "start",
    "duration",
    "backfill",
    "speed",
    "log_level",
    "data_dir",
    "project_dir",
    "channels_file",
    "partial_delay",
    "injection_file",
}


def fingerprint(settings: SimulateSettings) -> dict:
    """The settings that decide the frames' contents (seed, physics, faults, channels)."""
    return {k: v for k, v in settings.model_dump(mode="json").items() if k not in _NOT_DATA}


def record_path(settings: SimulateSettings) -> Path:
    return Path(settings.data_dir) / f".simulate-{settings.ifo}.json"


def write_record(settings: SimulateSettings) -> None:
    """Record the data-deciding settings next to the frames (atomically)."""
    path = record_path(settings)
    atomic_write_text(path, json.dumps(fingerprint(settings), indent=2, sort_keys=True))


def _recorded(settings: SimulateSettings) -> dict | None:
    try:
        data = json.loads(record_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _complete(path: Path) -> bool:
    try:
        verify_gwf_bytes(path.read_bytes(), path.name)
        return True
    except (OSError, FrameError):
        return False


def kept_seconds(settings: SimulateSettings, existing: list[Path]) -> frozenset[int]:
    """GPS seconds whose every (not dropped) frame is already there and complete."""
    plan = FaultPlan.from_settings(settings)
    kinds = {Stream.STRAIN: FrameKind.STRAIN, Stream.WITNESS: FrameKind.WITNESS}
    keep = set()
    for gps in sorted({FrameName.parse(p.name).gps for p in existing}):
        if all(
            plan.dropped(stream, gps)
            or _complete(frame_path(settings.data_dir, kind, settings.ifo, gps))
            for stream, kind in kinds.items()
        ):
            keep.add(gps)
    return frozenset(keep)


@dataclass(frozen=True)
class Preflight:
    """What the run may do: rewrite the channel list; keep these seconds' frames as they are."""

    write_channels: bool
    keep: frozenset[int] = frozenset()


def _check_duration(settings: SimulateSettings, start: int, config: DetectorConfig) -> None:
    """ConfigError if the span is not valid GPS, ResourceError if its frames would not fit on the
    disk (with ``DISK_RESERVE``)."""
    if settings.duration is None:
        return
    try:
        check_gps_span(start, settings.duration)
    except ValueError as exc:
        raise ConfigError(f"setting duration = {settings.duration}: {exc}") from None
    need = (
        frame_bytes_per_second(config, settings.truth, settings.injecting())
        * settings.duration
        * DISK_RESERVE
    )
    folder = Path(settings.data_dir)
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if need > free:
        raise ResourceError(
            f"setting duration = {settings.duration}: the frames need about "
            f"{human_bytes(need)} but {folder} has "
            f"{human_bytes(free)} free; allowed: at most "
            f"{int(free / need * settings.duration)} s here"
        )


def check_before_writing(
    settings: SimulateSettings,
    start: int,
    config: DetectorConfig,
    channels_file: Path,
    *,
    overwrite: bool,
) -> Preflight:
    """Raise before anything is written if the run cannot or must not happen; say whether
    the channel list must be (re)written (not when the same list is there already) and
    which seconds are kept (a continued run)."""
    check_output_dir(settings.data_dir, "data_dir")
    check_output_file(channels_file, "channels_file")
    _check_duration(settings, start, config)
    end = None if settings.duration is None else start + settings.duration
    existing = existing_frames(settings.data_dir, settings.ifo, start, end)
    wanted = "\n".join(config.channel_list()) + "\n"
    current = (
        read_text_file(channels_file, "channel list file") if channels_file.is_file() else None
    )
    if overwrite:
        if existing:
            logger.warning(
                "--overwrite: replacing %d existing frame file(s) from GPS %d on",
                len(existing),
                start,
            )
        return Preflight(current != wanted)
    if existing and current == wanted and _recorded(settings) == fingerprint(settings):
        keep = kept_seconds(settings, existing)
        logger.info(
            "continuing in %s: %d second(s) of the span are already there, written with "
            "the same seed and settings "
            "(%s); keeping them and writing the others",
            settings.data_dir,
            len(keep),
            record_path(settings).name,
        )
        return Preflight(False, keep)
    if existing:
        span = f"GPS {start}-{end}" if end is not None else f"GPS {start} on"
        raise OutputExistsError(
            f"setting data_dir = {str(settings.data_dir)!r} already holds {len(existing)} "
            "frame file(s) of "
            f"{settings.ifo} for {span} (first {existing[0].name}); give --overwrite to "
            "replace them, "
            "the seed and settings that wrote them to continue, or another --start or --data-dir"
        )
    if current is not None and current != wanted:
        raise OutputExistsError(
            f"channel list {channels_file} already lists other channels than this "
            "simulation writes; "
            "give --overwrite to replace it, or another --channels-file or --data-dir"
        )
    return Preflight(current != wanted)
