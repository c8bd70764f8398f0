"""The monitor loop: follow cleaned frames, archive, trim the carousel, check the canary.

Three threads. The **loop** (:meth:`MonitorService.run`) follows
``$PROJECT_DIR/cleaned/<IFO>/`` with watchdog, reads each new frame once (a corrupt one is
logged, counted and treated as a missing second), archives every closed span, trims the
carousel, and every ``monitor_period`` seconds of data hands the last ``asd_segment_length``
seconds to the **checker**. It only touches local files, so it keeps the carousel bounded
even while the exporter is slow or down. The checker asks the exporter for the versions
(retried with backoff), draws the latest ASDs, records the ratios, runs the decision
(:mod:`deepclean.utils.monitoring.decision`) and calls ``POST /promote``; a failed promotion
is retried at the next check (:mod:`.checker`). The **injection finder** measures each
listed injection once its data is in the past (:mod:`.injections`). One log line per cycle
says GPS, latency and what changed. Restart: archived seconds are read back from the
archive file names, the decision state from ``$PROJECT_DIR/monitor/state.json``, the
injections measured from ``injections.json`` beside it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from pathlib import Path

from deepclean.services.monitor.archive import Archive
from deepclean.services.monitor.carousel import Carousel
from deepclean.services.monitor.checker import CanaryChecker
from deepclean.services.monitor.cleaned import CleanedFrameReading, Segment, read_cleaned
from deepclean.services.monitor.exporter_client import ExporterClient
from deepclean.services.monitor.injections import JOIN_S, InjectionFinder
from deepclean.services.monitor.served import unix_to_gps
from deepclean.services.monitor.settings import MonitorSettings
from deepclean.services.monitor.state import MonitorState
from deepclean.utils.config import parameters_from
from deepclean.utils.disk import DiskFull, is_disk_full, watch_disk
from deepclean.utils.errors import FrameError
from deepclean.utils.frames.watch import DirectoryWatcher
from deepclean.utils.liveness import Liveness, Progress
from deepclean.utils.monitoring.decision import Thresholds
from deepclean.utils.monitoring.segment import SecondSummary
from deepclean.utils.monitoring.spans import to_archive

logger = logging.getLogger(__name__)


class MonitorService:
    """Follows the cleaned frames until :meth:`stop`."""

    def __init__(self, settings: MonitorSettings, *, token: str | None = None) -> None:
        s = self.settings = settings
        self.stop_event = threading.Event()
        self.carousel = Carousel(s.project_dir, s.ifo, s.max_files, s.carousel_headroom)
        self.archive = Archive(
            s.project_dir,
            s.ifo,
            max_age=s.archive_max_age,
            max_bytes=s.archive_max_bytes,
            float32=not s.archive_float64,
        )
        thresholds = parameters_from(Thresholds, s)
        self.state = MonitorState(Path(s.project_dir) / "monitor", thresholds, s.plot_history)
        exporter = ExporterClient(
            s.exporter_url,
            token=token,
            retries=s.exporter_retries,
            backoff=s.exporter_backoff,
            timeout=s.exporter_timeout,
            stop=self.stop_event,
        )
        self.checker = CanaryChecker(s, self.state, exporter)
        self.injections = self.state.injections = InjectionFinder(
            s.data_dir, s.project_dir, s.ifo, self.state.metrics.registry
        )
        self.buffer: OrderedDict[int, CleanedFrameReading] = OrderedDict()
        self.summaries: dict[int, SecondSummary | None] = {}
        self.latest: int | None = None  #: newest GPS read
        self.last_check_end: int | None = None
        self.archived: set[int] = set()
        self.unarchivable: set[int] = set()
        self.last_archived: str | None = None
        #: (files, end GPS) of the archive
        self._archive_summary: tuple[int, int | None] | None = None
        self.jobs: queue.Queue[Segment] = queue.Queue(maxsize=1)
        self.checks_queued = 0  #: segments handed to the checker
        self.checks_done = 0  #: segments the checker finished
        self.checks_dropped = 0  #: segments dropped because the checker was still busy
        self.processed: int | None = None  #: newest GPS a whole loop cycle went through
        self.liveness = Liveness()  #: what /health judges besides the loop's heartbeat
        self.checking = self.liveness.add(
            Progress("cleaned frames arrive but no check finishes", s.check_deadline)
        )
        self.archive_retry_at = 0.0  #: monotonic time before which no archive write is tried
        self.archive_failures = 0  #: consecutive failed archive writes (backoff doubles)
        self.archive_disk = DiskFull("archive files")
        watch_disk(self.state.metrics.registry, [s.project_dir])

    def stop(self) -> None:
        """Stop both threads (safe from a signal handler)."""
        self.stop_event.set()

    # ------------------------------------------------------------------ the loop

    def run(self) -> None:
        """Follow the cleaned frames until stopped."""
        s = self.settings
        checker = threading.Thread(target=self._checker, name="monitor-checker", daemon=True)
        self.liveness.thread("monitor-checker", checker)
        checker.start()
        finder = self.injections.start(self.stop_event, lambda: self.processed)
        self.liveness.thread(finder.name, finder)
        try:
            # watched before the cleaner's first frame
            self.carousel.directory.mkdir(parents=True, exist_ok=True)
            self._resume()
            with DirectoryWatcher(self.carousel.directory) as watcher:
                woke = False
                while not self.stop_event.is_set():
                    generation = watcher.generation()
                    present = self.carousel.seconds()
                    new = [g for g in present if self.latest is None or g > self.latest]
                    # a writer's other events (temporary file, rename) change nothing
                    if new or not woke:
                        # first: the carousel is bounded before frames are read
                        self._housekeeping(present)
                    if new:
                        self._read(new)
                        self._maybe_check()
                        self._log_cycle(new)
                        self.processed = self.latest
                    self.state.beat()
                    if self.stop_event.is_set():
                        break
                    woke = watcher.wait(generation, s.frame_timeout)
        finally:
            self.stop_event.set()
            checker.join(timeout=s.exporter_timeout + 5)
            finder.join(timeout=JOIN_S)
            self.state.save()

    def _resume(self) -> None:
        """Archived seconds from the archive's file names; the newest segment read back."""
        present = self.carousel.seconds()
        self.archived = self.archive.archived(present[0], present[-1] + 1) if present else set()
        logger.info(
            "following %s: %d cleaned frame(s) present, %d archive file(s) in %s",
            self.carousel.directory,
            len(present),
            len(self.archive.files()),
            self.archive.directory,
        )
        self._read(present)
        if self.latest is not None:
            self.last_check_end = self.latest + 1
        self._housekeeping(present)
        self.processed = self.latest

    def _read(self, new: list[int]) -> None:
        """Read the new seconds a check may still use (the last ``asd_segment_length``); older
        ones of a backlog are only counted (the archive reads every frame anyway)."""
        keep = self.settings.asd_segment_length
        if len(new) > keep:
            self.latest = max(self.latest or new[-keep - 1], new[-keep - 1])
        for gps in new[-keep:]:
            self._ingest(gps)

    def _ingest(self, gps: int) -> None:
        path = self.carousel.path(gps)
        self.latest = gps if self.latest is None else max(self.latest, gps)
        try:
            second = read_cleaned(path, self.settings.ifo)
        except (FrameError, OSError) as exc:
            logger.warning("unreadable cleaned frame, second %d counts as missing: %s", gps, exc)
            self.summaries[gps] = None
            with self.state.lock:
                self.state.unreadable.append(f"{path.name}: {exc}")
                self.state.metrics.bad_frames.inc()
        else:
            self.buffer[gps] = second
            self.summaries[gps] = second.summary
            self.state.record_frame(gps, unix_to_gps(second.mtime) - (gps + 1))
        oldest = self.latest + 1 - self.settings.asd_segment_length
        while self.buffer and next(iter(self.buffer)) < oldest:
            self.buffer.popitem(last=False)
        for old in [g for g in self.summaries if g < oldest]:
            del self.summaries[old]

    def _housekeeping(self, present: list[int]) -> None:
        """Archive closed spans, then trim the carousel (``present``: its seconds) and apply
        retention."""
        if present:
            latest = max(present[-1], self.latest or present[-1])
            pending = to_archive(
                present, self.archived | self.unarchivable, latest, self.settings.write_cadence
            )
            if time.monotonic() < self.archive_retry_at:
                pending = []  # backing off after a failed write: the frames wait in the carousel
            for start, end in pending:
                try:
                    written, bad = self.archive.write(start, end, self.carousel.path)
                except (FrameError, OSError) as exc:
                    self._archive_failed(start, end, exc)
                    break
                if self.archive_failures:
                    self.archive_disk.wrote(f"GPS {start}-{end}")
                    logger.info("archiving works again (GPS %d-%d)", start, end)
                self.archive_failures = 0
                self.unarchivable.update(bad)
                for path in written:
                    logger.info("archived %s", path.name)
                self.archived.update(g for g in range(start, end) if g not in bad)
                if written:
                    self.last_archived = written[-1].name
            handled = self.archived | self.unarchivable
            deleted = self.carousel.trim({g for g in present if g in handled}, present)
            oldest = min(set(present) - set(deleted), default=None)
            if oldest is not None:  # forget what the carousel no longer holds
                self.archived = {g for g in self.archived if g >= oldest}
                self.unarchivable = {g for g in self.unarchivable if g >= oldest}
            self.state.record_carousel(len(present) - len(deleted), self.carousel.max_seen)
            # the archive changes only when a span is written
            if pending or self._archive_summary is None:
                if self.latest is not None:
                    self.archive.enforce_retention(self.latest + 1)
                files = self.archive.files()
                self._archive_summary = (
                    len(files),
                    max((g + d for g, d, _ in files), default=None),
                )
            self.state.record_archive(*self._archive_summary, self.last_archived)

    def _archive_failed(self, start: int, end: int, exc: Exception) -> None:
        """Back off (1 s doubling to ``archive_backoff_max``) after a failed archive write."""
        self.archive_failures += 1
        wait = min(2.0 ** (self.archive_failures - 1), self.settings.archive_backoff_max)
        self.archive_retry_at = time.monotonic() + wait
        if is_disk_full(exc):
            self.archive_disk.failed(f"GPS {start}-{end}", exc)  # logged once a minute
        else:
            logger.error(
                "archiving GPS %d-%d failed (frames kept, retried in %.0f s): %s",
                start,
                end,
                wait,
                exc,
            )

    def _maybe_check(self) -> None:
        end = self.latest + 1
        period = self.settings.monitor_period
        if self.last_check_end is None:
            self.last_check_end = end
            return
        if end // period <= self.last_check_end // period:
            return
        self.last_check_end = end
        length = self.settings.asd_segment_length
        window = range(end - length, end)
        segment = Segment(
            end,
            length,
            {g: self.summaries[g] for g in window if g in self.summaries},
            {g: self.buffer[g].series.copy() for g in window if g in self.buffer},
        )
        try:
            stale = self.jobs.get_nowait()  # the checker is behind: drop the stale segment
            self.checks_dropped += 1
            logger.warning("checker busy; dropping the check ending at GPS %d", stale.end)
        except queue.Empty:
            pass
        self.checks_queued += 1
        self.checking.arrived()
        self.jobs.put(segment)

    def _log_cycle(self, new: list[int]) -> None:
        latency = self.state.latencies[-1][1] if self.state.latencies else float("nan")
        logger.info(
            "GPS %d: %d new frame(s), latency %.2f s, carousel %d, archive to GPS %s",
            new[-1],
            len(new),
            latency,
            self.state.carousel_files,
            self.state.archive.get("end"),
        )

    # ------------------------------------------------------------------ the checker

    def _checker(self) -> None:
        while not self.stop_event.is_set():
            try:
                segment = self.jobs.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self.checker.check(segment)
            except Exception:  # noqa: BLE001 - a bug in one check must not stop monitoring
                logger.exception("check of the segment ending at GPS %d failed", segment.end)
            self.checks_done += 1
            self.checking.done()
