"""Reading GWF frame files with LALFrame: the checksum is verified in Python first, every
LALFrame result is checked, and what was asked for is validated; a bad file is a
:class:`~deepclean.utils.errors.FrameError` naming the file and the problem (see :mod:`.gwf`).
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from deepclean.utils.errors import FrameError
from deepclean.utils.frames import _lal
from deepclean.utils.frames.channel import Channel
from deepclean.utils.frames.checksum import verify_gwf_bytes


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
