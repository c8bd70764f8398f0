"""Read and write GWF frame files with LALFrame (lalsuite), the GWF library gwpy uses here.

This module writes (:func:`write_frame`); reading is in :mod:`.gwf_read` and the
:class:`Channel` record in :mod:`.channel`, both importable from here too.

Writes are atomic: the frame is written under a temporary name in the destination folder
and renamed into place, so a reader never sees half a frame. Reads validate what was asked
for and raise :class:`~deepclean.utils.errors.FrameError` naming the file and the problem.

LALFrame is called directly rather than through gwpy (the files are ordinary GWF; gwpy
reads them), because:

* robustness: LALFrame can crash the process (segmentation fault) on a garbled file, and
  gwpy hands it a NULL table of contents for a truncated one. Here a file's checksum is
  verified in Python first (:mod:`.checksum`), so only byte-exact files reach LALFrame,
  and every LALFrame result is checked: a half-written or corrupt file is a FrameError,
  never a crash and never silent garbage;
* speed: LALFrame's ``FrameAdd*Data`` always gzip-compresses samples (~15 ms per
  16384-sample channel); :func:`write_frame` stores them uncompressed unless asked, and
  reads copy samples out in one go (measured in ``benchmarks/bench_frames.py``);
* quiet: LALFrame prints ``XLAL Error`` lines on stderr for every failed call; they are
  silenced while this module calls it (the caller gets the FrameError instead).
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from deepclean.utils.errors import FrameError
from deepclean.utils.files import atomic_write
from deepclean.utils.frames import _lal
from deepclean.utils.frames.channel import Channel
from deepclean.utils.frames.gwf_read import check_frame, list_channels, read_frame

GWF_BACKEND = "lalframe"  #: gwpy's name for the GWF library these files are written with
PROJECT_NAME = "DeepClean"  #: the frame header's project name
SUPPORTED_DTYPES = tuple(str(d) for d in _lal.WRITE_TYPES)  #: dtypes :func:`write_frame` accepts


# --------------------------------------------------------------------------- writing


def _raise_if_disk_full(path: Path, channels: Sequence[Channel], exc: Exception) -> None:
    """LALFrame reports a full disk as a bare "I/O error": raise ``OSError(ENOSPC)`` when the
    filesystem has less room than the frame's samples need, so callers can tell it apart."""
    from deepclean.utils.disk import free_bytes

    found = free_bytes(path.parent)
    needed = sum(np.asarray(c.data).nbytes for c in channels) + 65536
    if found is not None and found[0] < needed:
        raise OSError(
            errno.ENOSPC,
            f"no space left on device for frame file {path} ({found[0]} bytes free, "
            f"~{needed} needed; LALFrame: {exc})",
        ) from exc


def write_frame(
    path: str | Path,
    channels: Sequence[Channel],
    *,
    compress: bool = False,
    allow_nonfinite: bool = False,
    durable: bool = True,
) -> Path:
    """Write ``channels`` into the GWF file ``path`` atomically and fsynced
    (:func:`deepclean.utils.files.atomic_write`; ``durable=False`` skips the fsyncs); return
    the path.

    The frame spans from the earliest channel start to the latest channel end. NaN or
    infinite samples are refused (FrameError, nothing written): no reader should ever get
    them from this project; ``allow_nonfinite`` exists only to make bad input for tests and
    fault injection. Samples are
    stored bit-exactly in their dtype (one of :data:`SUPPORTED_DTYPES`), uncompressed
    unless ``compress`` (LALFrame's usual gzip/zero-suppression, ~10x slower to write).
    """
    path = Path(path)
    if not channels:
        raise FrameError(f"frame file {path}: no channels to write")
    names = [c.name for c in channels]
    if len(set(names)) != len(names):
        raise FrameError(f"frame file {path}: duplicate channel names in {names}")
    for channel in channels:
        _check_writable(channel, allow_nonfinite)
    start = min(c.t0 for c in channels)
    end = max(c.t0 + c.duration for c in channels)

    def write(tmp: Path) -> None:
        with _lal.quiet() as lalframe:
            frame = lalframe.FrameNew(_lal.gps(start), end - start, PROJECT_NAME, 0, 0, 0)
            for channel in channels:
                _add_channel(lalframe, frame, channel, start, compress)
            try:
                stream = lalframe.FrameUFrFileOpen(str(tmp), "w")
                lalframe.FrameUFrameHWrite(stream, frame)
                del stream  # closes the file
            except RuntimeError as exc:
                _raise_if_disk_full(path, channels, exc)
                raise FrameError(f"frame file {path}: LALFrame could not write it: {exc}") from exc

    return atomic_write(path, write, durable=durable)


def _check_writable(channel: Channel, allow_nonfinite: bool = False) -> None:
    data = np.asarray(channel.data)
    if data.ndim != 1 or data.size == 0:
        raise FrameError(
            f"channel {channel.name}: need a non-empty 1-D array, got shape {data.shape}"
        )
    if data.dtype not in _lal.WRITE_TYPES:
        raise FrameError(
            f"channel {channel.name}: dtype {data.dtype} cannot be written to GWF; "
            f"allowed: {', '.join(SUPPORTED_DTYPES)}"
        )
    if not channel.sample_rate > 0:
        raise FrameError(
            f"channel {channel.name}: sample rate {channel.sample_rate} Hz must be positive"
        )
    if not allow_nonfinite and data.dtype.kind in "fc" and not np.isfinite(data).all():
        bad = int(np.size(data) - np.count_nonzero(np.isfinite(data)))
        raise FrameError(
            f"channel {channel.name}: {bad} of {data.size} samples are NaN or infinite; "
            "frames hold finite samples only"
        )


def _add_channel(lalframe, frame, channel: Channel, start: float, compress: bool) -> None:
    data = np.ascontiguousarray(channel.data)
    vect, compression = _lal.WRITE_TYPES[data.dtype]
    chan = lalframe.FrameUFrProcChanAlloc(
        channel.name,
        lalframe.FRAMEU_FR_PROC_TYPE_TIME_SERIES,
        lalframe.FRAMEU_FR_PROC_SUB_TYPE_UNKNOWN,
        getattr(lalframe, f"FRAMEU_FR_VECT_{vect}"),
        data.size,
    )
    address = _lal.vector_data_address(chan)
    if not address:
        raise FrameError(f"channel {channel.name}: LALFrame could not allocate {data.nbytes} bytes")
    ctypes.memmove(address, data.ctypes.data, data.nbytes)
    lalframe.FrameUFrChanVectorSetDx(chan, 1.0 / channel.sample_rate)
    lalframe.FrameUFrChanVectorSetUnitX(chan, "s")
    lalframe.FrameUFrChanSetTRange(chan, channel.duration)
    if channel.t0 != start:
        lalframe.FrameUFrChanSetTimeOffset(chan, channel.t0 - start)
    if compress:
        lalframe.FrameUFrChanVectorCompress(
            chan, getattr(lalframe, f"FRAMEU_FR_VECT_COMPRESS_{compression}")
        )
    lalframe.FrameUFrameHFrChanAdd(frame, chan)  # copies the channel into the frame


__all__ = [
    "GWF_BACKEND",
    "PROJECT_NAME",
    "SUPPORTED_DTYPES",
    "Channel",
    "check_frame",
    "list_channels",
    "read_frame",
    "write_frame",
]
