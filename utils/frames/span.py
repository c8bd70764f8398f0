"""Load a stretch of detector data for training: :func:`read_span` -> :class:`Span`.

Reads the consecutive 1-s strain and witness frames of ``[start, start + duration)`` (and
one second of padding on each side when present), validates them like the live stream
does (:class:`~deepclean.utils.frames.reader.FramePairReader`), resamples every channel to
``sample_rate`` and decodes the analysis-ready state.

Processing matches the streaming path (:mod:`.stream`): a missing or invalid second is
zeros, with the data on either side tapered by half Hann windows (:mod:`.taper`), and the
same resampling filter (:mod:`.resample`) is used, in chunks whose overlap covers the
filter, so the result equals resampling the whole span at once.

Edges: the filter reaches 10 samples of the lower rate (2.4 ms at 4096 Hz, 0.625 s for a
16 Hz channel) beyond each end. The padding second supplies that data when its frames
exist; when it does not, the data beyond the span are taken as zeros (not tapered: an edge
is not a drop) and the first/last second is marked not ready.

``ready`` is True where the detector was analysis-ready (``state & 3 == 3``) *and* the
data are trustworthy: seconds that were missing, tapered next to a missing second, or at
an unpadded edge are False.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepclean.utils.channels import ChannelList
from deepclean.utils.errors import FrameError
from deepclean.utils.frames.reader import DroppedFrame, FrameData, FramePairReader
from deepclean.utils.frames.resample import resample
from deepclean.utils.frames.state import ready_mask, samples_per_second, upsample_mask
from deepclean.utils.frames.taper import DEFAULT_TAPER_SECONDS, fill_gaps, taper_samples
from deepclean.utils.ifo import IFO

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SECONDS = (
    64  #: seconds resampled together (memory bound; the result does not depend on it)
)


@dataclass(frozen=True)
class Span:
    """A stretch of data at one sample rate."""

    channels: tuple[str, ...]  #: channel names in row order: strain first, then witnesses
    data: np.ndarray  #: ``(channel, time)`` float64 samples
    ready: np.ndarray  #: ``(time,)`` bool: analysis-ready and trustworthy samples
    t0: int  #: GPS time of the first sample, seconds
    sample_rate: float  #: Hz
    missing: tuple[int, ...] = ()  #: GPS seconds whose frames were missing or invalid (zero-filled)
    extras: Mapping[str, np.ndarray] = field(
        default_factory=dict
    )  #: extra strain-frame channels, ``(time,)``

    @property
    def duration(self) -> int:
        """Seconds covered."""
        return self.data.shape[1] // samples_per_second(self.sample_rate)

    @property
    def ready_seconds(self) -> np.ndarray:
        """``(duration,)`` bool: True for seconds that are ready throughout."""
        return self.ready.reshape(self.duration, -1).all(axis=1)

    def times(self) -> np.ndarray:
        """GPS time of every sample, seconds."""
        return self.t0 + np.arange(self.data.shape[1]) / self.sample_rate


def _read_chunk(
    loader: _Loader,
    a: int,
    b: int,
    start: int,
    rates: list[float],
    tapers: list[int],
    sample_rate: float,
    data: np.ndarray,
    ready: np.ndarray,
) -> None:
    """Fill seconds ``[a, b)`` of ``data`` (rows: channels resampled to ``sample_rate``, gaps
    filled and tapered) and ``ready`` (trusted analysis-ready samples) of a span from ``start``."""
    out_n = samples_per_second(sample_rate)
    seconds = range(a - 2, b + 2)  # data [a-1, b+1) plus one second of taper context each side
    items = [loader.get(s) for s in seconds]
    trusted = np.ones(len(seconds), dtype=bool)
    for row, (rate, taper) in enumerate(zip(rates, tapers)):
        n = samples_per_second(rate)
        pieces = [_piece(item, row, n) for item in items]
        joined, touched = fill_gaps(pieces, n, taper)
        trusted &= ~touched
        block = resample(joined[n : (len(seconds) - 1) * n], rate, sample_rate)
        data[row, (a - start) * out_n : (b - start) * out_n] = block[out_n : (b - a + 1) * out_n]
    for offset, s in enumerate(range(a, b)):
        item = items[offset + 2]
        if isinstance(item, FrameData) and trusted[offset + 2] and not loader.unpadded_edge(s):
            mask = upsample_mask(ready_mask(item.state), len(item.state), sample_rate)
            ready[(s - start) * out_n : (s - start + 1) * out_n] = mask


def _warn_missing(loader: _Loader, start: int, duration: int, missing: tuple[int, ...]) -> None:
    """One summary line for the span's missing seconds (instead of a warning per second)."""
    first_reason = loader.cache_reasons.get(missing[0], "")
    logger.warning(
        "span %d+%d s: %d second(s) missing or invalid, zero-filled: GPS %s (first: %s)",
        start,
        duration,
        len(missing),
        gps_ranges(missing),
        first_reason,
    )


def read_span(
    data_dir: str | Path,
    ifo: IFO | str,
    channels: ChannelList | Sequence[str],
    start: int,
    duration: int,
    sample_rate: float = 4096.0,
    *,
    extra_strain_channels: Sequence[str] = (),
    expected_rates: Mapping[str, float] | None = None,
    taper_seconds: float = DEFAULT_TAPER_SECONDS,
    chunk_seconds: int = DEFAULT_CHUNK_SECONDS,
) -> Span:
    """Read ``duration`` seconds from GPS ``start`` for ``channels`` (strain first) at
    ``sample_rate`` Hz.

    ``extra_strain_channels`` (e.g. ``<IFO>:SIM-BACKGROUND``, the simulator's ground truth)
    are read from the strain frames and returned in ``Span.extras``; a frame lacking one
    counts as missing. Raises FrameError if no second of the span has usable frames.
    """
    start, duration = int(start), int(duration)
    if duration < 1:
        raise ValueError(f"duration {duration} s must be at least 1")
    if chunk_seconds < 1:
        raise ValueError(f"chunk_seconds {chunk_seconds} must be at least 1")
    out_n = samples_per_second(sample_rate)
    reader = FramePairReader(
        data_dir,
        ifo,
        channels,
        extra_strain_channels=extra_strain_channels,
        expected_rates=expected_rates,
        log_drops=False,  # one summary line below instead of a warning per second
    )
    loader = _Loader(reader, start, duration)
    first = loader.first_good()
    names = list(first.channels)
    rates = [*first.sample_rates, *(first.extras[e].sample_rate for e in extra_strain_channels)]
    rows = len(rates)
    data = np.zeros((rows, duration * out_n))
    ready = np.zeros(duration * out_n, dtype=bool)
    tapers = [taper_samples(taper_seconds, r) for r in rates]
    for a in range(start, start + duration, chunk_seconds):
        b = min(a + chunk_seconds, start + duration)
        _read_chunk(loader, a, b, start, rates, tapers, sample_rate, data, ready)
        loader.forget_before(b - 1)
    missing = tuple(sorted(loader.missing))
    if missing:
        _warn_missing(loader, start, duration, missing)
    extras = {name: data[len(names) + i] for i, name in enumerate(extra_strain_channels)}
    return Span(
        channels=tuple(names),
        data=data[: len(names)] if extras else data,
        ready=ready,
        t0=start,
        sample_rate=float(sample_rate),
        missing=missing,
        extras=extras,
    )


def _piece(item: FrameData | DroppedFrame | None, row: int, n: int) -> np.ndarray | None:
    """Samples of ``row`` (channels, then extras) for one second; None for a dropped second,
    zeros for an absent padding second (edge, not a drop)."""
    if item is None:
        return np.zeros(n)
    if isinstance(item, DroppedFrame):
        return None
    arrays = [*item.arrays, *(c.data for c in item.extras.values())]
    return arrays[row]


def gps_ranges(seconds: tuple[int, ...], limit: int = 8) -> str:
    """``(1, 2, 3, 7)`` -> ``"1-3, 7"`` (GPS seconds, sorted); beyond ``limit`` ranges, how many
    more."""
    ranges: list[list[int]] = []
    for gps in seconds:
        if ranges and gps == ranges[-1][1] + 1:
            ranges[-1][1] = gps
        else:
            ranges.append([gps, gps])
    text = ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in ranges[:limit])
    return text + (f" and {len(ranges) - limit} more range(s)" if len(ranges) > limit else "")


class _Loader:
    """Reads each second once; tracks missing seconds; knows which seconds are padding."""

    def __init__(self, reader: FramePairReader, start: int, duration: int) -> None:
        self.reader = reader
        self.start, self.end = start, start + duration
        self.cache: dict[int, FrameData | DroppedFrame] = {}
        self.missing: set[int] = set()
        self.cache_reasons: dict[int, str] = {}  #: why each missing second was dropped
        self.absent_pads: set[int] = set()

    def get(self, gps: int) -> FrameData | DroppedFrame | None:
        """The second ``gps``: data, dropped (inside the span), or None (padding or context)."""
        if gps < self.start - 1 or gps > self.end:
            return None
        is_pad = gps in (self.start - 1, self.end)
        if (
            is_pad
            and gps not in self.cache
            and not all(p.is_file() for p in self.reader.paths(gps))
        ):
            # padding beyond the data that exists is expected, not a dropped frame: no warning
            self.absent_pads.add(gps)
            return None
        if gps not in self.cache:
            self.cache[gps] = self.reader.read(gps)
        item = self.cache[gps]
        if isinstance(item, DroppedFrame):
            if gps in (self.start - 1, self.end):
                self.absent_pads.add(gps)
                return None
            self.missing.add(gps)
            self.cache_reasons.setdefault(gps, item.reason)
        return item

    def unpadded_edge(self, gps: int) -> bool:
        return (gps == self.start and self.start - 1 in self.absent_pads) or (
            gps == self.end - 1 and self.end in self.absent_pads
        )

    def first_good(self) -> FrameData:
        for gps in range(self.start, self.end):
            item = self.get(gps)
            if isinstance(item, FrameData):
                return item
        raise FrameError(
            f"no usable frames for GPS {self.start}-{self.end} under {self.reader.data_dir} "
            "(last reason: "
            f"{self.cache[self.end - 1].reason if self.end - 1 in self.cache else 'none'})"
        )

    def forget_before(self, gps: int) -> None:
        for key in [k for k in self.cache if k < gps]:
            del self.cache[key]
