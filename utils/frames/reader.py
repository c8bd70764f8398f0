"""Read one GPS second of a detector: the strain frame and the witness frame, validated.

:class:`FramePairReader` reads ``kafka/<IFO>`` (strain, state vector, optional extra strain
frame channels such as ``<IFO>:SIM-BACKGROUND``) and ``lldetchar/<IFO>`` (witnesses) for one
GPS second and returns :class:`FrameData`, or a :class:`DroppedFrame` with the reason
(logged) when anything is wrong: a missing, unreadable or corrupt file, a missing
channel, a wrong sample rate or length, NaN/Inf samples, a file of another GPS time. It
never raises for bad data, so a streaming loop survives any file.

:class:`FrameStream` joins two crawlers (:mod:`.crawler`) and the reader: iterate it for
one ``FrameData | DroppedFrame`` per GPS second, in order; more than
``max_consecutive_drops`` dropped seconds in a row raise DroppedFrameError. With
``optional_witnesses`` a second whose strain frame is good but whose witness frame is
missing or bad is still yielded, as FrameData holding the strain only (``witness_error``
says why), so a cleaner can pass the strain through; with ``drop_early`` a missing second
is declared dropped as soon as a later second's strain and witness frames are whole.
:class:`FrameData` and :class:`DroppedFrame` live in :mod:`.frame_data` (importable here too).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from deepclean.utils.channels import ChannelList
from deepclean.utils.errors import FrameError
from deepclean.utils.frames.crawler import (
    DEFAULT_MAX_CONSECUTIVE_DROPS,
    DEFAULT_RECHECK_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    FrameCrawler,
    FrameEvent,
    FrameStatus,
    one_more_drop,
)
from deepclean.utils.frames.frame_data import DroppedFrame, FrameData
from deepclean.utils.frames.gwf import Channel, read_frame
from deepclean.utils.frames.naming import (
    STATE_RATE_HZ,
    STRAIN_RATE_HZ,
    FrameKind,
    frame_path,
    state_channel,
)
from deepclean.utils.frames.state import ready_mask
from deepclean.utils.ifo import IFO

__all__ = ["DroppedFrame", "FrameData", "FramePairReader", "FrameStream"]

logger = logging.getLogger(__name__)


class FramePairReader:
    """Read and validate the strain + witness frames of one GPS second.

    ``expected_rates`` (Hz) fixes the rate of any channel; the strain channel defaults to
    16384 Hz, the state vector to 16 Hz, and every other channel's rate is learnt from the
    first good frame and enforced from then on.
    """

    def __init__(
        self,
        data_dir: str | Path,
        ifo: IFO | str,
        channels: ChannelList | Sequence[str],
        *,
        extra_strain_channels: Sequence[str] = (),
        expected_rates: Mapping[str, float] | None = None,
        log_drops: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.ifo = IFO(ifo)
        self.log_drops = (
            log_drops  #: a warning per dropped second (False: the caller summarises them)
        )
        names = list(channels.names if isinstance(channels, ChannelList) else channels)
        if len(names) < 1:
            raise ValueError("channels is empty: give the strain channel first, then the witnesses")
        self.strain, self.witnesses = names[0], names[1:]
        self.state = state_channel(self.ifo)
        self.extras = list(extra_strain_channels)
        self.rates: dict[str, float] = {self.strain: STRAIN_RATE_HZ, self.state: STATE_RATE_HZ}
        self.rates.update(expected_rates or {})

    def paths(self, gps: int) -> tuple[Path, Path]:
        """``(strain frame, witness frame)`` of ``gps``."""
        return (
            frame_path(self.data_dir, FrameKind.STRAIN, self.ifo, gps),
            frame_path(self.data_dir, FrameKind.WITNESS, self.ifo, gps),
        )

    def read(
        self, gps: int, *, optional_witnesses: bool = False, witness_error: str = ""
    ) -> FrameData | DroppedFrame:
        """The data of ``gps``, or a DroppedFrame (reason logged as a warning). Never raises
        FrameError.

        With ``optional_witnesses``, bad or missing witnesses (or a ``witness_error`` already
        known, e.g. from the crawler) give FrameData with the strain only and ``witness_error`` set.
        """
        strain_path, witness_path = self.paths(gps)
        if not self.witnesses:
            witness_error = ""  # none asked for
        try:
            strain = self._read(strain_path, [self.strain, self.state, *self.extras], gps)
            try:
                ready_mask(strain[self.state].data)
            except ValueError as exc:
                raise FrameError(f"frame file {strain_path}: channel {self.state}: {exc}") from exc
            witnesses = {}
            if witness_error and not optional_witnesses:
                raise FrameError(witness_error)
            if self.witnesses and not witness_error:
                try:
                    witnesses = self._read(witness_path, self.witnesses, gps)
                except FrameError as exc:
                    if not optional_witnesses:
                        raise
                    witness_error = str(exc)
        except FrameError as exc:
            if self.log_drops:
                logger.warning("GPS %d: frame dropped: %s", gps, exc)
            return DroppedFrame(gps=gps, reason=str(exc))
        if witness_error and self.log_drops:
            logger.warning("GPS %d: witnesses missing: %s", gps, witness_error)
        for channel in (*strain.values(), *witnesses.values()):
            self.rates.setdefault(channel.name, channel.sample_rate)
        ordered = {self.strain: strain[self.strain]}
        if not witness_error:
            ordered.update({name: witnesses[name] for name in self.witnesses})
        extras = {name: strain[name] for name in self.extras}
        return FrameData(
            gps=gps,
            channels=ordered,
            state=strain[self.state].data,
            extras=extras,
            witness_error=witness_error,
        )

    def _read(self, path: Path, names: Sequence[str], gps: int) -> dict[str, Channel]:
        return read_frame(
            path, names, expected_t0=gps, expected_duration=1.0, expected_rates=self.rates
        )


class FrameStream:
    """The detector's data, one GPS second at a time: ``FrameData | DroppedFrame``, in order.

    Follows ``kafka/<IFO>`` and ``lldetchar/<IFO>`` under ``data_dir`` from ``start`` (None:
    the newest strain frame present, else the current GPS second). For each second it waits
    up to ``timeout`` seconds for the strain frame and then up to ``timeout`` seconds for the
    witness frame (not at all if the strain frame was dropped), then reads and validates
    both. More than ``max_consecutive_drops`` dropped seconds in a row raise
    DroppedFrameError. Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        data_dir: str | Path,
        ifo: IFO | str,
        channels: ChannelList | Sequence[str],
        *,
        start: int | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_consecutive_drops: int | None = DEFAULT_MAX_CONSECUTIVE_DROPS,
        extra_strain_channels: Sequence[str] = (),
        expected_rates: Mapping[str, float] | None = None,
        recheck_interval: float = DEFAULT_RECHECK_SECONDS,
        optional_witnesses: bool = False,
        drop_early: bool = False,
    ) -> None:
        self.optional_witnesses = bool(optional_witnesses)
        self.drop_early = bool(drop_early)
        self.reader = FramePairReader(
            data_dir,
            ifo,
            channels,
            extra_strain_channels=extra_strain_channels,
            expected_rates=expected_rates,
        )
        common = dict(
            timeout=timeout, max_consecutive_drops=None, recheck_interval=recheck_interval
        )
        self.strain = FrameCrawler(data_dir, FrameKind.STRAIN, ifo, start=start, **common)
        try:
            self.witness = FrameCrawler(
                data_dir, FrameKind.WITNESS, ifo, start=self.strain.gps, **common
            )
        except BaseException:
            self.strain.close()
            raise
        self.timeout = float(timeout)
        self.max_consecutive_drops = max_consecutive_drops
        self.consecutive_drops = 0

    @property
    def gps(self) -> int:
        """The next GPS second to be yielded."""
        return self.strain.gps

    def __enter__(self) -> FrameStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_channels(self, channels: ChannelList | Sequence[str]) -> None:
        """Read ``channels`` (strain first) from the next second on (rates learnt so far are
        kept)."""
        old = self.reader
        self.reader = FramePairReader(
            old.data_dir,
            old.ifo,
            channels,
            extra_strain_channels=old.extras,
            expected_rates=old.rates,
        )

    def later_complete(self, gps: int) -> int | None:
        """The first later second (within the crawlers' look-ahead) whose strain and witness frames
        are whole."""
        for later in range(gps + 1, gps + 1 + self.strain.lookahead):
            if self.strain.whole(later) and self.witness.whole(later):
                return later
        return None

    def close(self) -> None:
        """Stop both crawlers; iteration stops. Idempotent, safe from another thread."""
        self.strain.close()
        self.witness.close()

    def __iter__(self) -> FrameStream:
        return self

    def __next__(self) -> FrameData | DroppedFrame:
        gps = self.strain.gps
        begun = time.monotonic()
        later = self.later_complete if self.drop_early else None
        strain = self.strain.wait_for(gps, begun + self.timeout, later=later)
        if strain.ok and self.reader.witnesses:
            witness = self.witness.wait_for(gps, time.monotonic() + self.timeout, later=later)
        else:  # no strain, or no witnesses asked for: do not wait
            witness = FrameEvent(
                gps=gps, path=None, status=FrameStatus.OK if strain.ok else FrameStatus.DROPPED
            )
        if self.strain.closed or self.witness.closed:
            raise StopIteration
        self.strain.gps = self.witness.gps = gps + 1
        if not strain.ok:
            item: FrameData | DroppedFrame = DroppedFrame(
                gps=gps, reason=f"strain: {strain.reason}"
            )
        elif not witness.ok and not self.optional_witnesses:
            item = DroppedFrame(gps=gps, reason=f"witness: {witness.reason}")
        else:
            error = "" if witness.ok else f"witness: {witness.reason}"
            item = self.reader.read(
                gps, optional_witnesses=self.optional_witnesses, witness_error=error
            )
        self._count(item)
        return item

    def _count(self, item: FrameData | DroppedFrame) -> None:
        """Track consecutive drops; raise DroppedFrameError past ``max_consecutive_drops``."""
        if isinstance(item, FrameData):
            self.consecutive_drops = 0
        else:
            self.consecutive_drops = one_more_drop(
                self.consecutive_drops, self.max_consecutive_drops, "seconds", item.gps, item.reason
            )
