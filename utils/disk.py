"""Disk space: a free-space gauge for every service's ``/metrics``, and telling ENOSPC apart.

:class:`FreeDiskCollector` reports ``deepclean_disk_free_bytes{path=...}`` (and the
filesystem's total, ``deepclean_disk_total_bytes``) for the folders a service writes, read at
each scrape with ``os.statvfs`` (no thread, no cache). :func:`is_disk_full` says whether an
``OSError`` means the filesystem (or the user's quota) is full, the one write error a streaming
service waits out instead of stopping; :class:`DiskFull` logs such skipped writes once a
minute and the recovery once.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(exc: BaseException) -> bool:
    """True for ENOSPC (no space left on device) and EDQUOT (quota exceeded)."""
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


def free_bytes(path: Path) -> tuple[int, int] | None:
    """``(free to unprivileged users, total)`` bytes of the filesystem holding ``path`` (or its
    nearest existing parent); None if none can be read."""
    path = Path(path).absolute()
    for candidate in (path, *path.parents):
        try:
            st = os.statvfs(candidate)
        except OSError:
            continue
        return st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize
    return None


class FreeDiskCollector(Collector):
    """``deepclean_disk_free_bytes`` and ``deepclean_disk_total_bytes`` per watched path."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.paths = [Path(p) for p in paths]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        free = GaugeMetricFamily(
            "deepclean_disk_free_bytes",
            "bytes free for the service on the filesystem of each folder it writes",
            labels=["path"],
        )
        total = GaugeMetricFamily(
            "deepclean_disk_total_bytes",
            "size of the filesystem of each folder the service writes, bytes",
            labels=["path"],
        )
        for path in self.paths:
            found = free_bytes(path)
            if found is not None:
                free.add_metric([str(path)], found[0])
                total.add_metric([str(path)], found[1])
        yield free
        yield total


def watch_disk(registry: CollectorRegistry, paths: Iterable[Path]) -> FreeDiskCollector:
    """Register a :class:`FreeDiskCollector` for ``paths`` in ``registry``."""
    collector = FreeDiskCollector(paths)
    registry.register(collector)
    return collector


class DiskFull:
    """Writes of ``what`` skipped for a full disk: logged once per ``log_every`` s, counted, and
    the recovery logged once (the caller goes on and tries the next write)."""

    def __init__(self, what: str, *, log_every: float = 60.0, clock=time.monotonic) -> None:
        self.what, self.log_every, self.clock = what, log_every, clock
        self.skipped = 0  #: writes skipped since the disk filled (0: not full)
        self.total = 0  #: writes skipped since start
        self._logged: float | None = None

    @property
    def full(self) -> bool:
        return self.skipped > 0

    def failed(self, item: str, exc: OSError) -> None:
        self.skipped += 1
        self.total += 1
        now = self.clock()
        if self._logged is None or now - self._logged >= self.log_every:
            self._logged = now
            logger.error(
                "disk full: %s not written (%s; %d skipped since the disk filled); "
                "going on without writing until space returns",
                item,
                exc.strerror or exc,
                self.skipped,
            )

    def wrote(self, item: str) -> None:
        if self.skipped:
            logger.warning(
                "disk space is back: %s written again from %s on, after %d not written",
                self.what,
                item,
                self.skipped,
            )
        self.skipped = 0  # the once-a-minute limit also spans a recovery (a flapping disk)


def human_bytes(n: float) -> str:
    """``n`` bytes as ``"1.5 GiB"`` (binary units, one decimal)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024:
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"
