"""The cleaner's loop: one input second in, at most one cleaned frame out, logged and measured.

Input follows ``$DATA_DIR`` from ``context`` seconds before the first second to write (so the
resampler, the stream warm-up and the filter memory have data), the first second being
``--start``, else the one after the newest frame in ``$PROJECT_DIR/cleaned/<IFO>/`` (a restart
never rewrites or skips one), else the newest complete second. Frames already written are
never rewritten. Until Triton serves ``deepclean-stream`` only the strain is read and passed
through (OUT_DQ = raw, bits clear); once it does, the witnesses it names are read too.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from pathlib import Path

from deepclean.services.cleaner.link import TritonLink
from deepclean.services.cleaner.metrics import CleanerMetrics, MetricsServer
from deepclean.services.cleaner.output import newest_written, write_cleaned, written_line
from deepclean.services.cleaner.pipeline import Budget, CleanedSecond, CleanerPipeline
from deepclean.services.cleaner.settings import CleanerSettings
from deepclean.services.cleaner.switch import switched_off
from deepclean.utils.config import parameters_from
from deepclean.utils.disk import DiskFull, is_disk_full, watch_disk
from deepclean.utils.frames.crawler import gps_now, newest_frame, resolve_start
from deepclean.utils.frames.naming import FrameKind, frame_path, strain_channel, stream_dir
from deepclean.utils.frames.reader import DroppedFrame, FrameStream
from deepclean.utils.kill_switch import SwitchWatcher
from deepclean.utils.liveness import Progress
from deepclean.utils.products import StateBit
from deepclean.utils.triton.names import Role

logger = logging.getLogger(__name__)

#: a start further than this after the stream's head is logged (likely a typo, or the wrong clock)
FAR_AHEAD_S = 60


def budget_of(settings: CleanerSettings) -> Budget:
    """The pipeline's :class:`Budget` from the settings of the same names."""
    return parameters_from(Budget, settings)


class CleanerService:
    """See the module docstring. ``run()`` returns the number of frames written."""

    def __init__(self, settings: CleanerSettings, *, metrics: CleanerMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or CleanerMetrics()
        self.pipeline = CleanerPipeline(settings.sample_rate, budget_of(settings), settings.bands)
        self.link = TritonLink(
            settings.triton_url,
            ifo=settings.ifo,
            grace=settings.grace,
            backoff=settings.reconnect_backoff,
            backoff_max=settings.reconnect_backoff_max,
            poll_seconds=settings.config_poll,
        )
        self.stream: FrameStream | None = None
        self.server: MetricsServer | None = None
        self.records: deque[dict] = deque(
            maxlen=100_000
        )  #: one dict per frame written (tests, benchmark)
        self.written = 0
        self._stop = threading.Event()
        self.writing = self.metrics.liveness.add(
            Progress("input frames arrive but no cleaned frame is written", settings.stall_deadline)
        )
        self.disk_full = DiskFull("cleaned frames")
        self.switch = SwitchWatcher(settings.project_dir, settings.ifo)  #: the kill switch
        watch_disk(self.metrics.registry, [settings.project_dir])

    def stop(self) -> None:
        """Stop after the current second (safe from a signal handler or another thread)."""
        self._stop.set()
        if self.stream is not None:
            self.stream.close()

    # ------------------------------------------------------------------ start point
    def plan(self) -> tuple[int, int, int | None]:
        """``(first input second, first second to write, newest frame already written)``."""
        s = self.settings
        newest = newest_written(s.project_dir, s.ifo)
        if s.start is not None:
            first = s.start
        elif newest is not None:
            first = newest + 1
        else:
            first = resolve_start(
                None, stream_dir(s.data_dir, FrameKind.STRAIN, s.ifo), FrameKind.STRAIN, s.ifo
            )
        if newest is not None and newest >= first:
            logger.info("frames up to GPS %d are written already; resuming after it", newest)
            first = newest + 1
        head = newest_frame(
            stream_dir(s.data_dir, FrameKind.STRAIN, s.ifo), FrameKind.STRAIN, s.ifo
        )
        ahead = first - (head if head is not None else gps_now())
        if ahead > FAR_AHEAD_S:
            logger.warning(
                "start GPS %d is %d s after the %s (GPS %d); waiting for it",
                first,
                ahead,
                "newest strain frame" if head is not None else "current time",
                first - ahead,
            )
        begin = first
        for gps in range(first - s.context, first):  # the earliest context second that exists
            if frame_path(s.data_dir, FrameKind.STRAIN, s.ifo, gps).exists():
                begin = gps
                break
        return begin, first, newest

    # ------------------------------------------------------------------ loop
    def run(self) -> int:
        s = self.settings
        begin, first, _ = self.plan()
        self.first = first
        last = None if s.duration is None else first + s.duration - 1
        if s.metrics_port is not None:
            self.server = MetricsServer(self.metrics, s.host, s.metrics_port).start()
            logger.info(
                "metrics and health on http://%s:%d/metrics, /health", s.host, self.server.port
            )
        served = self.link.poll(force=True)
        self._configure(served)
        channels = list(served.channels) if self.pipeline.served else [strain_channel(s.ifo)]
        logger.info(
            "cleaning %s from GPS %d (reading from %d) with Triton at %s",
            s.ifo,
            first,
            begin,
            s.triton_url,
        )
        self.metrics.set_health(status="ok", first=first)
        try:
            with FrameStream(
                s.data_dir,
                s.ifo,
                channels,
                start=begin,
                timeout=s.frame_timeout,
                max_consecutive_drops=None,
                optional_witnesses=True,
                drop_early=True,
            ) as stream:
                self.stream = stream
                if self._stop.is_set():
                    stream.close()
                for item in stream:
                    self._second(item, first)
                    if last is not None and (
                        self.written
                        and self.records[-1]["gps"] >= last
                        or item.gps > last + self.pipeline.delay + 2
                    ):
                        break
                    if self._stop.is_set():
                        break
        finally:
            self.stream = None
            self.link.close()
            if self.server is not None:
                self.server.stop()
        return self.written

    def _configure(self, served) -> bool:
        try:
            changed = self.pipeline.configure(served)
        except ValueError as exc:
            logger.error("Triton's stream cannot be used (%s); passing the strain through", exc)
            self.link.served = None
            return False
        if changed and self.stream is not None:
            self.stream.set_channels(served.channels)
            logger.info("reading %d channels from the next second on", len(served.channels))
        return changed

    def _second(self, item, first: int) -> None:
        now = time.time()
        if isinstance(item, DroppedFrame):
            if item.gps >= first:
                self.metrics.dropped.inc()
        else:
            self.writing.arrived()
        self._configure(self.link.poll())
        for second in self.pipeline.push(item, self.link.infer):
            if second.gps >= first:
                self._write(second, now)
        p, m = self.pipeline, self.metrics
        for part, samples in (("reach", p.reach), ("lag", p.lag), ("lead", p.lead)):
            m.lookahead.labels(part).set(samples / p.fs)
        m.delay.set(p.delay)
        connected = self.link.connected
        self.metrics.triton_up.set(1 if connected else 0)
        self.metrics.set_health(
            triton="connected" if connected else "disconnected", input_gps=item.gps
        )

    def _write(self, second: CleanedSecond, triggered: float) -> None:
        """Write ``second`` (raw when the kill switch is off), record and log its latency."""
        switch = self.switch.state()  # read for every frame: effective from the next one written
        if not switch.enabled:
            second = switched_off(second)
        self.metrics.cleaning_enabled.set(1 if switch.enabled else 0)
        self.metrics.set_health(cleaning=switch.describe())
        writing = time.time()
        path = self._write_frame(second)
        if path is None:
            return
        done = time.time()
        self.written += 1
        strain = frame_path(self.settings.data_dir, FrameKind.STRAIN, self.settings.ifo, second.gps)
        try:
            appeared = os.stat(strain).st_mtime
        except OSError:
            appeared = None
        # the stages of this frame's latency: waiting for (and reading) the input it needs, then
        # the push that completed it (resampling, Triton, filtering), then writing it
        stages = {**self.pipeline.timings, "write": done - writing}
        if appeared is not None:
            stages = {"input": triggered - appeared, **stages}
        self._record(second, done, appeared, stages)
        latency = "?" if appeared is None else f"{done - appeared:.3f} s"
        logger.info("%s", written_line(second, Path(path).name, latency, stages))

    def _write_frame(self, second: CleanedSecond) -> Path | None:
        """The cleaned frame written; ``None`` when the disk is full (counted, not raised)."""
        s = self.settings
        try:
            path = write_cleaned(s.project_dir, s.ifo, second)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            self.disk_full.failed(f"GPS {second.gps}", exc)
            self.metrics.unwritten.inc()
            self.writing.note = f"disk full: {self.disk_full.skipped} frame(s) not written"
            return None
        self.disk_full.wrote(f"GPS {second.gps}")
        self.writing.done()
        return path

    def _record(
        self, second: CleanedSecond, done: float, appeared: float | None, stages: dict
    ) -> None:
        """The frame's record (kept for the report) and metrics: written at ``done``, its
        strain frame appeared at ``appeared`` (Unix seconds), ``stages`` of its latency (s)."""
        record = {
            "gps": second.gps,
            "written": done,
            "appeared": appeared,
            "cleaned": second.cleaned_fraction,
            "valid": second.valid.get(Role.PRODUCTION, False),
            "versions": dict(second.versions),
            "inference": self.link.last_latency,
        }
        m = self.metrics
        if appeared is not None:
            record.update(latency=done - appeared)
            m.latency.observe(done - appeared)
        record.update(stages)
        for stage, seconds in stages.items():
            m.stage.labels(stage).observe(max(seconds, 0.0))
        self.records.append(record)
        m.frames.inc()
        m.last_gps.set(second.gps)
        m.inference.observe(self.link.last_latency)
        if second.cleaned_fraction >= 1.0:
            m.cleaned_seconds.inc()
        elif not (second.bits & (StateBit.OUT_DQ_CLEANED | StateBit.OUT_DQ_PARTIAL)).any():
            m.raw_seconds.inc()
        m.set_bands(second.bands)
        for role, version in second.versions.items():
            m.versions.labels(str(role)).set(version)
        m.set_health(gps=second.gps, written=done)
