"""Read and write GWF frame files through gwpy, with LALFrame (lalsuite) as the GWF library.

Writes are atomic: the frame is written under a temporary name in the destination folder
and renamed into place, so a reader never sees half a frame. Reads validate what was asked
for and raise :class:`~deepclean.utils.errors.FrameError` naming the file and the problem.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepclean.utils.errors import FrameError

logger = logging.getLogger(__name__)

GWF_BACKEND = "lalframe"  #: gwpy's name for the LALFrame GWF library


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


def write_frame(path: str | Path, channels: Sequence[Channel]) -> Path:
    """Write ``channels`` into the GWF file ``path`` atomically; return the path."""
    from gwpy.timeseries import TimeSeries, TimeSeriesDict

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tsd = TimeSeriesDict()
    for channel in channels:
        tsd[channel.name] = TimeSeries(
            channel.data, t0=channel.t0, sample_rate=channel.sample_rate, name=channel.name, channel=channel.name
        )
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".gwf.tmp", dir=path.parent)
    os.close(fd)
    try:
        tsd.write(tmp, format="gwf", backend=GWF_BACKEND)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_frame(
    path: str | Path,
    names: Sequence[str],
    *,
    expected_t0: float | None = None,
    expected_duration: float | None = None,
    expected_rates: Mapping[str, float] | None = None,
) -> dict[str, Channel]:
    """Read ``names`` from the GWF file ``path``.

    Raises :class:`FrameError` (one line naming the file, the channel and the problem) for an
    unreadable file, a missing channel, a start time other than ``expected_t0``, a duration
    other than ``expected_duration`` seconds, a sample rate other than ``expected_rates[name]``
    Hz, or NaN/Inf samples.
    """
    from gwpy.timeseries import TimeSeriesDict

    path = Path(path)
    if not path.is_file():
        raise FrameError(f"frame file {path} does not exist")
    try:
        tsd = TimeSeriesDict.read(str(path), list(names), format="gwf", backend=GWF_BACKEND)
    except Exception as exc:  # lalframe raises RuntimeError/ValueError/KeyError variously
        missing = _missing_channels(path, names)
        if missing:
            raise FrameError(f"frame file {path}: channel(s) {', '.join(missing)} not found") from exc
        raise FrameError(f"frame file {path} is unreadable: {type(exc).__name__}: {exc}") from exc
    out: dict[str, Channel] = {}
    for name in names:
        ts = tsd[name]
        channel = Channel(
            name=name,
            data=np.asarray(ts.value),
            sample_rate=float(ts.sample_rate.value),
            t0=float(ts.t0.value),
        )
        _check(path, channel, expected_t0, expected_duration, (expected_rates or {}).get(name))
        out[name] = channel
    return out


def _check(path: Path, ch: Channel, t0: float | None, duration: float | None, rate: float | None) -> None:
    if t0 is not None and abs(ch.t0 - t0) > 1e-6:
        raise FrameError(f"frame file {path}: channel {ch.name} starts at GPS {ch.t0}, expected {t0}")
    if rate is not None and abs(ch.sample_rate - rate) > 1e-9 * rate:
        raise FrameError(f"frame file {path}: channel {ch.name} has sample rate {ch.sample_rate} Hz, expected {rate} Hz")
    if duration is not None and abs(ch.duration - duration) > 0.5 / ch.sample_rate:
        raise FrameError(
            f"frame file {path}: channel {ch.name} holds {len(ch.data)} samples ({ch.duration} s), "
            f"expected {duration} s"
        )
    if not np.all(np.isfinite(ch.data)):
        bad = int(np.count_nonzero(~np.isfinite(ch.data)))
        raise FrameError(f"frame file {path}: channel {ch.name} has {bad} NaN/Inf sample(s)")


def _missing_channels(path: Path, names: Sequence[str]) -> list[str]:
    try:
        present = set(list_channels(path))
    except Exception:  # the file itself is bad; the caller reports that
        return []
    return [n for n in names if n not in present]


def list_channels(path: str | Path) -> list[str]:
    """Names of the channels in the GWF file ``path``."""
    from gwpy.io.gwf import get_channel_names

    return list(get_channel_names(str(path)))
