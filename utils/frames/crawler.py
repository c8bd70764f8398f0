"""Follow one live stream of 1-s frame files, second by second, without skipping any.

:class:`FrameCrawler` yields one :class:`FrameEvent` per GPS second, in order, starting
from a given GPS second or from "now" (see :func:`resolve_start`):

* ``OK``: the file exists and is a whole, uncorrupted GWF file (``check``, by default
  :func:`~deepclean.utils.frames.gwf.check_frame`: checksum and table of contents);
* ``DROPPED``: the file did not appear, or stayed unreadable (still being written,
  truncated, corrupt), for ``timeout`` seconds after the crawler began waiting for it.

Waiting is driven by filesystem events (watchdog/inotify, :mod:`.watch`): a file that is
renamed into place, or written to, wakes the crawler at once; a bounded re-check every
``recheck_interval`` seconds guards against a missed event. With ``drop_early`` a missing
(or unreadable) second is declared dropped as soon as a later second's file (within
``lookahead`` seconds) is whole, instead of after the timeout: a live stream that skipped a
second goes on at once, which is what a low-latency consumer wants. Files already present are
yielded without waiting, so a crawler that fell behind catches up in order. More than
``max_consecutive_drops`` dropped seconds in a row raise
:class:`~deepclean.utils.errors.DroppedFrameError`. The crawler only checks that files
are whole; reading and validating their channels is :mod:`.reader`'s job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from deepclean.utils.errors import DroppedFrameError, FrameError
from deepclean.utils.frames.gwf import check_frame
from deepclean.utils.frames.naming import FrameKind, frame_path, frames_in, stream_dir
from deepclean.utils.frames.watch import DirectoryWatcher
from deepclean.utils.ifo import IFO

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 2.0  #: wait for one frame before declaring it dropped, seconds
DEFAULT_MAX_CONSECUTIVE_DROPS = 5  #: more consecutive drops than this is an error
DEFAULT_RECHECK_SECONDS = 0.25  #: fallback re-check while waiting, seconds
DEFAULT_LOOKAHEAD = 4  #: later seconds checked for a whole file when ``drop_early``
FRAME_SECONDS = 1.0  #: duration of one frame: the next one is due this long after the last


class FrameStatus(StrEnum):
    """What became of one GPS second of a stream."""

    OK = "ok"
    DROPPED = "dropped"


@dataclass(frozen=True)
class FrameEvent:
    """One GPS second of a stream: its file, or why it was dropped."""

    gps: int  #: GPS start of the frame, seconds
    path: Path | None  #: the frame file; None if it never appeared
    status: FrameStatus
    reason: str = ""  #: why the frame was dropped ("" when OK)

    @property
    def ok(self) -> bool:
        return self.status is FrameStatus.OK


def newest_frame(directory: Path, kind: FrameKind, ifo: IFO | str) -> int | None:
    """GPS of the newest ``kind`` frame of ``ifo`` in ``directory`` (None if there is none)."""
    return max((name.gps for name, _ in frames_in(directory, kind, ifo)), default=None)


def one_more_drop(consecutive: int, limit: int | None, what: str, gps: int, reason: str) -> int:
    """``consecutive`` drops in a row plus the one of ``gps``; DroppedFrameError naming ``what``
    was dropped and the last ``reason`` once they are more than ``limit`` (None: no limit)."""
    consecutive += 1
    if limit is not None and consecutive > limit:
        raise DroppedFrameError(
            f"{consecutive} consecutive {what} dropped up to GPS {gps} "
            f"(more than max_consecutive_drops={limit}); last reason: {reason}"
        )
    return consecutive


def gps_now() -> int:
    """The current GPS second from the system clock (LAL applies the leap seconds)."""
    import lal

    return int(lal.GPSTimeNow())


def resolve_start(start: int | None, directory: Path, kind: FrameKind, ifo: IFO | str) -> int:
    """The first GPS second to crawl.

    ``start`` if given; otherwise "now": the newest frame file already in ``directory``
    (so a stream written faster or slower than real time is followed from its head), or,
    when the directory holds none, the current GPS second from the system clock.
    """
    if start is not None:
        return int(start)
    newest = newest_frame(directory, kind, ifo)
    return newest if newest is not None else gps_now()


class FrameCrawler:
    """Iterate over the 1-s frames of one stream: ``FrameEvent`` per GPS second, in order.

    Parameters
    ----------
    data_dir:
        root of the streams (``$DATA_DIR``; the files are in
        ``<data_dir>/<kafka|lldetchar>/<IFO>``).
    kind, ifo:
        which stream.
    start:
        first GPS second, or None for "now" (:func:`resolve_start`).
    timeout:
        seconds a frame may be late before it is declared dropped: counted from when it is
        due (:data:`FRAME_SECONDS` after the previous frame arrived, or after the previous
        one was due when that was dropped), or from when the crawler starts waiting for it
        if that is later (the first frame, a crawler behind its stream).
    max_consecutive_drops:
        more dropped seconds in a row than this raise DroppedFrameError (None: never).
    check:
        raises FrameError unless a file is whole (default :func:`check_frame`).
    recheck_interval:
        seconds between fallback re-checks while waiting (events normally wake it sooner).
    drop_early:
        declare a second dropped as soon as one of the next ``lookahead`` seconds has a whole
        file (default False: always wait for the timeout).
    lookahead:
        later seconds looked at when ``drop_early`` (default 4).
    """

    def __init__(
        self,
        data_dir: str | Path,
        kind: FrameKind,
        ifo: IFO | str,
        *,
        start: int | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_consecutive_drops: int | None = DEFAULT_MAX_CONSECUTIVE_DROPS,
        check: Callable[[Path], None] = check_frame,
        recheck_interval: float = DEFAULT_RECHECK_SECONDS,
        drop_early: bool = False,
        lookahead: int = DEFAULT_LOOKAHEAD,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout {timeout} s must be positive")
        if not recheck_interval > 0:
            raise ValueError(f"recheck_interval {recheck_interval} s must be positive")
        if max_consecutive_drops is not None and max_consecutive_drops < 0:
            raise ValueError(
                f"max_consecutive_drops {max_consecutive_drops} must be >= 0 (or None)"
            )
        self.data_dir = Path(data_dir)
        self.kind = FrameKind(kind)
        self.ifo = IFO(ifo)
        self.directory = stream_dir(self.data_dir, self.kind, self.ifo)
        self.timeout = float(timeout)
        self.max_consecutive_drops = max_consecutive_drops
        self.check = check
        self.recheck_interval = float(recheck_interval)
        if lookahead < 1:
            raise ValueError(f"lookahead {lookahead} must be >= 1 second")
        self.drop_early = bool(drop_early)
        self.lookahead = int(lookahead)
        self.gps = resolve_start(
            start, self.directory, self.kind, self.ifo
        )  #: next GPS second to yield
        self.consecutive_drops = 0
        self._due: float | None = None  #: time.monotonic() when the next frame is due
        self._watcher = DirectoryWatcher(self.directory)
        self._watcher.start()

    def __enter__(self) -> FrameCrawler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop watching; iteration then stops. Idempotent and safe from another thread."""
        self._watcher.close()

    @property
    def closed(self) -> bool:
        return self._watcher.closed

    def path(self, gps: int) -> Path:
        """The file of GPS second ``gps``."""
        return frame_path(self.data_dir, self.kind, self.ifo, gps)

    def __iter__(self) -> FrameCrawler:
        return self

    def __next__(self) -> FrameEvent:
        if self.closed:
            raise StopIteration
        later = self.later_whole if self.drop_early else None
        now = time.monotonic()
        due = now if self._due is None else max(now, self._due)
        event = self.wait_for(self.gps, due + self.timeout, later=later)
        if self.closed and not event.ok:  # closed while waiting: not a real drop
            raise StopIteration
        # the next frame is due a frame after this one arrived (or was due, if dropped)
        self._due = (time.monotonic() if event.ok else due) + FRAME_SECONDS
        self.gps += 1
        self.count(event)
        return event

    def count(self, event: FrameEvent) -> None:
        """Track consecutive drops; raise DroppedFrameError past ``max_consecutive_drops``."""
        if event.ok:
            self.consecutive_drops = 0
        else:
            what = f"frames of {self.directory}"
            self.consecutive_drops = one_more_drop(
                self.consecutive_drops, self.max_consecutive_drops, what, event.gps, event.reason
            )

    def whole(self, gps: int) -> bool:
        """True if the file of ``gps`` exists and passes ``check``."""
        path = self.path(gps)
        if not path.exists():
            return False
        try:
            self.check(path)
        except (FrameError, OSError):
            return False
        return True

    def later_whole(self, gps: int) -> int | None:
        """The first of the ``lookahead`` seconds after ``gps`` whose file is whole (None if none
        is)."""
        for later in range(gps + 1, gps + 1 + self.lookahead):
            if self.whole(later):
                return later
        return None

    def wait_for(
        self, gps: int, deadline: float, later: Callable[[int], int | None] | None = None
    ) -> FrameEvent:
        """Wait until the frame of ``gps`` is whole, or until ``deadline`` (``time.monotonic()``),
        or, given ``later`` (``gps -> later GPS whose data are complete, or None``), until that says
        a later second is complete.

        Never raises for a bad file: returns a DROPPED event with the reason (also logged).
        """
        path = self.path(gps)
        error = None
        overtaken = None
        while not self.closed:
            generation = self._watcher.generation()
            if path.exists():
                try:
                    self.check(path)
                except (FrameError, OSError) as exc:
                    error = str(exc)
                else:
                    return FrameEvent(gps=gps, path=path, status=FrameStatus.OK)
            if later is not None:
                overtaken = later(gps)
                if overtaken is not None:
                    break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._watcher.wait(generation, min(remaining, self.recheck_interval))
        if self.closed:
            reason = "crawler closed"
        elif overtaken is not None:
            what = "did not appear" if error is None else f"still unreadable ({error})"
            reason = f"file {path.name} {what} when the frames of GPS {overtaken} were complete"
        elif error is None:
            reason = f"file {path.name} did not appear within {self.timeout:g} s of being due"
        else:
            reason = f"file {path.name} still unreadable after {self.timeout:g} s: {error}"
        if not self.closed:
            logger.warning("GPS %d: %s frame dropped: %s", gps, self.kind.name.lower(), reason)
        return FrameEvent(
            gps=gps, path=path if path.exists() else None, status=FrameStatus.DROPPED, reason=reason
        )
