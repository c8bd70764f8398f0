"""Read and write GWF frame files with LALFrame (lalsuite), the GWF library gwpy uses here.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepclean.utils.errors import FrameError
from deepclean.utils.files import atomic_write
from deepclean.utils.frames import _lal
from deepclean.utils.frames.checksum import verify_gwf_bytes

GWF_BACKEND = "lalframe"  #: gwpy's name for the GWF library these files are written with
PROJECT_NAME = "DeepClean"  #: the frame header's project name
SUPPORTED_DTYPES = tuple(str(d) for d in _lal.WRITE_TYPES)  #: dtypes :func:`write_frame` accepts


@dataclass(frozen=True)
class Channel:
    """One channel of a frame: samples starting at ``t0`` (GPS seconds) at ``sample_rate`` Hz."""

    name: str
    data: np.ndarray
    sample_rate: float  #: Hz
    t0: float  #: GPS seconds

    @property
    def duration(self) -> float:
        """Seconds covered by the samples."""
        return len(self.data) / self.sample_rate


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


# --------------------------------------------------------------------------- reading


def _open(lalframe, path: Path, verify_checksum: bool):
    """Open ``path`` and read its table of contents; return ``(stream, toc)``."""
    try:
        raw = path.read_bytes() if verify_checksum else None
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise FrameError(f"frame file {path} does not exist") from exc
    except OSError as exc:
        raise FrameError(f"frame file {path} cannot be read: {exc}") from exc
    if raw is not None:
        verify_gwf_bytes(raw, str(path))
    unreadable = f"frame file {path} is unreadable ({size} bytes; not GWF or truncated)"
    try:
        stream = lalframe.FrameUFrFileOpen(str(path), "r")
    except RuntimeError as exc:
        raise FrameError(f"{unreadable}: {exc}") from exc
    toc = lalframe.FrameUFrTOCRead(stream) if stream is not None else None
    if toc is None:  # LALFrame returns NULL for a truncated file; using it would segfault
        raise FrameError(f"{unreadable}: no table of contents")
    if lalframe.FrameUFrTOCQueryNFrame(toc) < 1:
        raise FrameError(f"frame file {path} holds no frame")
    return stream, toc


def check_frame(path: str | Path) -> None:
    """Raise :class:`FrameError` unless ``path`` is a complete, uncorrupted GWF file.

    Verifies the file's checksum and reads its table of contents; reads no samples (~0.5 ms
    for a 1-s strain frame).
    """
    path = Path(path)
    with _lal.quiet() as lalframe, _lal.as_frame_error(path):
        _open(lalframe, path, verify_checksum=True)


def read_frame(
    path: str | Path,
    names: Sequence[str],
    *,
    expected_t0: float | None = None,
    expected_duration: float | None = None,
    expected_rates: Mapping[str, float] | None = None,
    verify_checksum: bool = True,
) -> dict[str, Channel]:
    """Read ``names`` from the GWF file ``path`` (every frame in the file, concatenated).

    Raises :class:`FrameError` (one line naming the file, the channel and the problem) for an
    unreadable, truncated or corrupt file (checksum verified unless ``verify_checksum`` is
    false: only skip it for files known to be whole), missing channel(s), frames that are
    not contiguous, a start time other than ``expected_t0``, a duration other than
    ``expected_duration`` seconds, a sample rate other than ``expected_rates[name]`` Hz, or
    NaN/Inf samples. Samples keep their stored dtype.
    """
    path = Path(path)
    out: dict[str, Channel] = {}
    with _lal.quiet() as lalframe, _lal.as_frame_error(path):
        stream, toc = _open(lalframe, path, verify_checksum)
        nframes = lalframe.FrameUFrTOCQueryNFrame(toc)
        starts = [sum(lalframe.FrameUFrTOCQueryGTimeModf(toc, pos)) for pos in range(nframes)]
        missing = []
        for name in names:
            pieces = []
            for pos in range(nframes):
                try:
                    chan = lalframe.FrameUFrChanRead(stream, name, pos)
                except RuntimeError:  # "Wrong name"
                    chan = None
                if chan is None:
                    missing.append(name)
                    break
                pieces.append(_samples(lalframe, path, name, chan, starts[pos]))
            else:
                out[name] = _join(path, name, pieces)
        if missing:
            raise FrameError(f"frame file {path}: channel(s) {', '.join(missing)} not found")
    for channel in out.values():
        _check(
            path, channel, expected_t0, expected_duration, (expected_rates or {}).get(channel.name)
        )
    return out


def _samples(
    lalframe, path: Path, name: str, chan, frame_start: float
) -> tuple[float, float, np.ndarray]:
    """``(t0, dt, samples)`` of one channel of one frame (samples copied out of LALFrame)."""
    lalframe.FrameUFrChanVectorExpand(chan)  # no-op unless stored compressed
    vect = lalframe.FrameUFrChanVectorQueryType(chan)
    dtype = _lal.read_dtype(vect)
    if dtype is None:
        raise FrameError(f"frame file {path}: channel {name} has unsupported FrVect type {vect}")
    count = lalframe.FrameUFrChanVectorQueryNData(chan)
    nbytes = lalframe.FrameUFrChanVectorQueryNBytes(chan)
    if count < 1 or nbytes != count * dtype.itemsize:
        raise FrameError(
            f"frame file {path}: channel {name} holds {count} samples in {nbytes} bytes"
        )
    dt = lalframe.FrameUFrChanVectorQueryDx(chan, 0)
    if not dt > 0:
        raise FrameError(f"frame file {path}: channel {name} has sample step {dt} s")
    address = _lal.vector_data_address(chan)
    if not address:
        raise FrameError(f"frame file {path}: channel {name} has no samples")
    data = np.frombuffer((ctypes.c_char * nbytes).from_address(address), dtype=dtype).copy()
    return frame_start + lalframe.FrameUFrChanQueryTimeOffset(chan), dt, data


def _join(path: Path, name: str, pieces: list[tuple[float, float, np.ndarray]]) -> Channel:
    t0, dt, _ = pieces[0]
    expected = t0
    for start, step, data in pieces:
        if abs(start - expected) > 0.5 * dt or abs(step - dt) > 1e-12 * dt:
            raise FrameError(
                f"frame file {path}: channel {name} is not contiguous across the file's frames"
            )
        expected = start + len(data) * step
    data = pieces[0][2] if len(pieces) == 1 else np.concatenate([p[2] for p in pieces])
    return Channel(name=name, data=data, sample_rate=_rate(dt), t0=t0)


def _rate(dt: float) -> float:
    """Sample rate (Hz) from a sample step (s); an integer when within rounding of one."""
    rate = 1.0 / dt
    return float(round(rate)) if abs(rate - round(rate)) < 1e-9 * rate else rate


def _check(
    path: Path, ch: Channel, t0: float | None, duration: float | None, rate: float | None
) -> None:
    if t0 is not None and abs(ch.t0 - t0) > 1e-6:
        raise FrameError(
            f"frame file {path}: channel {ch.name} starts at GPS {ch.t0}, expected {t0}"
        )
    if rate is not None and abs(ch.sample_rate - rate) > 1e-9 * rate:
        raise FrameError(
            f"frame file {path}: channel {ch.name} has sample rate {ch.sample_rate} Hz, "
            f"expected {rate} Hz"
        )
    if duration is not None and abs(ch.duration - duration) > 0.5 / ch.sample_rate:
        raise FrameError(
            f"frame file {path}: channel {ch.name} holds {len(ch.data)} samples ({ch.duration} s), "
            f"expected {duration} s"
        )
    if np.issubdtype(ch.data.dtype, np.inexact) and not np.all(np.isfinite(ch.data)):
        bad = int(np.count_nonzero(~np.isfinite(ch.data)))
        raise FrameError(f"frame file {path}: channel {ch.name} has {bad} NaN/Inf sample(s)")


def list_channels(path: str | Path) -> list[str]:
    """Sorted names of the channels in the GWF file ``path`` (FrameError if unreadable)."""
    path = Path(path)
    with _lal.quiet() as lalframe, _lal.as_frame_error(path):
        _, toc = _open(lalframe, path, verify_checksum=True)
        names: list[str] = []
        for kind in ("Adc", "Proc", "Sim"):
            count = getattr(lalframe, f"FrameUFrTOCQuery{kind}N")(toc)
            names.extend(
                getattr(lalframe, f"FrameUFrTOCQuery{kind}Name")(toc, i) for i in range(count)
            )
    return sorted(names)
