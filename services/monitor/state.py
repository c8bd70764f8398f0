"""What the monitor knows, shared between its loop, its checker and the status page.

:class:`MonitorState` holds the figures behind ``/``, ``/status`` and ``/metrics`` under one
lock, persists the decision state (rejected canaries, counts, the recent decisions and
ratios) to ``$PROJECT_DIR/monitor/state.json`` atomically after every check, and reloads it
at start, so a restarted monitor neither re-checks a rejected canary nor forgets its history.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepclean.services.monitor.injections import InjectionFinder
from deepclean.services.monitor.ranges import RangeHistory
from deepclean.utils.files import load_state_json, save_state_text
from deepclean.utils.metric_set import MetricSet
from deepclean.utils.monitoring.decision import CanaryTracker, Decision, Thresholds, Verdict

logger = logging.getLogger(__name__)

STATE_FILE = "state.json"
MAX_DECISIONS = 200  #: decisions kept (status page shows the latest)
MAX_LATENCIES = 600  #: frame latencies kept


@dataclass(frozen=True)
class RatioPoint:
    """In-band ASD ratios of one usable segment ending at ``gps``."""

    gps: int
    production: int
    canary: int
    production_ratio: float
    canary_ratio: float
    out_dq_ratio: float


class Metrics:
    """The monitor's Prometheus metrics, in a registry of their own."""

    def __init__(self) -> None:
        m = MetricSet("monitor")
        self.registry = m.registry
        self.ratio = m.gauge("asd_ratio", "latest in-band ASD ratio against raw", ["series"])
        self.decisions = m.counter("decisions", "canary checks by verdict", ["verdict"])
        self.promotions = m.counter("promotions", "promotions the exporter accepted")
        self.rejected = m.gauge("rejected_canaries", "canary versions rejected")
        self.version = m.gauge("version", "DeepClean version per role (exporter)", ["role"])
        self.carousel = m.gauge("carousel_files", "cleaned frames in the carousel")
        self.archive_lag = m.gauge(
            "archive_lag_seconds", "seconds of cleaned data newer than the archive's end"
        )
        self.archive_files = m.gauge("archive_files", "archive files present")
        self.latency = m.gauge(
            "frame_latency_seconds", "latest cleaned frame: file time minus the end of its data"
        )
        self.bad_frames = m.counter("unreadable_frames", "cleaned frames that could not be read")
        self.exporter_up = m.gauge("exporter_up", "1 if the exporter answered the last request")
        self.last_gps = m.gauge("last_frame_gps", "GPS of the latest cleaned frame read")


class MonitorState:
    """Thread-safe state; :meth:`snapshot` is the ``/status`` document."""

    def __init__(self, directory: Path, thresholds: Thresholds, history_seconds: float) -> None:
        self.path = Path(directory) / STATE_FILE
        self.lock = threading.RLock()
        self.metrics = Metrics()
        self.history_seconds = history_seconds
        self.started = time.time()
        self.heartbeat = time.time()  #: when the monitor loop last went round (``/health``)
        self.tracker = CanaryTracker(thresholds)
        self.decisions: deque[Decision] = deque(maxlen=MAX_DECISIONS)
        self.ratios: deque[RatioPoint] = deque()
        self.latencies: deque[tuple[int, float]] = deque(maxlen=MAX_LATENCIES)
        self.versions: dict[str, Any] | None = None
        self.served: dict[str, int] | None = None
        self.exporter_error: str | None = None
        self.last_gps: int | None = None
        self.carousel_files = 0
        self.carousel_max = 0
        self.archive: dict[str, Any] = {"files": 0, "end": None, "last": None}
        self.unreadable: deque[str] = deque(maxlen=20)
        self.plots: dict[str, bytes] = {}
        self.plot_gps: int | None = None
        self.ranges = RangeHistory(Path(directory), self.metrics.registry, history_seconds)
        self.injections: InjectionFinder | None = None  #: set by the service
        self._load()

    # ------------------------------------------------------------------ persistence

    def _load(self) -> None:
        def parse(data):
            return (
                CanaryTracker.from_json(self.tracker.thresholds, data.get("tracker", {})),
                [Decision.from_json(d) for d in data.get("decisions", [])],
                [RatioPoint(**r) for r in data.get("ratios", [])],
            )

        saved = load_state_json(self.path, "monitor state", parse)
        if saved is None:
            return
        self.tracker = saved[0]
        self.decisions.extend(saved[1])
        self.ratios.extend(saved[2])
        self.metrics.rejected.set(len(self.tracker.rejected))
        logger.info(
            "resumed monitor state from %s: %d decision(s), rejected canaries %s",
            self.path,
            len(self.decisions),
            sorted(self.tracker.rejected) or "none",
        )

    def save(self) -> None:
        with self.lock:
            data = {
                "tracker": self.tracker.to_json(),
                "decisions": [d.to_json() for d in self.decisions],
                "ratios": [vars(r) for r in self.ratios],
            }
        save_state_text(self.path, json.dumps(data), "the monitor state")

    # ------------------------------------------------------------------ updates

    def beat(self) -> None:
        self.heartbeat = time.time()

    def record_decision(self, decision: Decision) -> None:
        with self.lock:
            self.decisions.append(decision)
            self.metrics.decisions.labels(decision.verdict.value).inc()
            self.metrics.rejected.set(len(self.tracker.rejected))
            if decision.verdict is Verdict.PROMOTE and decision.reason.startswith("promoted"):
                self.metrics.promotions.inc()

    def record_ratio(self, point: RatioPoint) -> None:
        with self.lock:
            self.ratios.append(point)
            while self.ratios and self.ratios[0].gps < point.gps - self.history_seconds:
                self.ratios.popleft()
            for series in ("production", "canary", "out_dq"):
                self.metrics.ratio.labels(series).set(getattr(point, f"{series}_ratio"))

    def record_frame(self, gps: int, latency: float) -> None:
        with self.lock:
            self.last_gps = gps
            self.latencies.append((gps, latency))
            self.metrics.latency.set(latency)
            self.metrics.last_gps.set(gps)
            if self._archive_lag() is not None:
                self.metrics.archive_lag.set(self._archive_lag())

    def record_versions(self, versions: dict[str, Any] | None, error: str | None) -> None:
        with self.lock:
            if versions is not None:
                self.versions = versions
                for role in ("production", "canary"):
                    self.metrics.version.labels(role).set(versions[role]["version"])
            self.exporter_error = error
            self.metrics.exporter_up.set(0 if error else 1)

    def record_carousel(self, files: int, max_seen: int) -> None:
        with self.lock:
            self.carousel_files, self.carousel_max = files, max(self.carousel_max, max_seen)
            self.metrics.carousel.set(files)

    def _archive_lag(self) -> int | None:
        end = self.archive.get("end")
        return None if end is None or self.last_gps is None else max(0, self.last_gps + 1 - end)

    def record_archive(self, files: int, end: int | None, last: str | None) -> None:
        with self.lock:
            self.archive = {"files": files, "end": end, "last": last}
            self.metrics.archive_files.set(files)
            if self._archive_lag() is not None:
                self.metrics.archive_lag.set(self._archive_lag())

    def set_plots(self, gps: int, plots: dict[str, bytes]) -> None:
        with self.lock:
            self.plots.update(plots)
            self.plot_gps = gps

    # ------------------------------------------------------------------ reading

    def snapshot(self) -> dict[str, Any]:
        """The ``/status`` document (JSON-serialisable)."""
        with self.lock:
            t = self.tracker
            return {
                "ifo_time": {
                    "last_gps": self.last_gps,
                    "uptime_s": round(time.time() - self.started, 1),
                },
                "versions": self.versions,
                "served": self.served,
                "exporter_error": self.exporter_error,
                "canary": {
                    "version": t.canary,
                    "passes": t.passes,
                    "failures": t.failures,
                    "needed": {"passes": t.thresholds.passes, "failures": t.thresholds.failures},
                    "rejected": sorted(t.rejected),
                },
                "thresholds": vars(t.thresholds),
                "decisions": [d.to_json() for d in list(self.decisions)[-20:]][::-1],
                "ratios": [vars(r) for r in self.ratios],
                "latency": [
                    {"gps": g, "seconds": round(s, 3)} for g, s in list(self.latencies)[-20:]
                ][::-1],
                "carousel": {"files": self.carousel_files, "max_seen": self.carousel_max},
                "archive": {**self.archive, "lag": self._archive_lag()},
                "unreadable_frames": list(self.unreadable),
                "plots_gps": self.plot_gps,
                "ranges": self.ranges.snapshot(),
                "injections": self.injections.snapshot() if self.injections else [],
                "injection_counts": self.injections.counts() if self.injections else {},
            }
