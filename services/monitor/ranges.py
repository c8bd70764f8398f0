"""The BNS inspiral range of raw, production, canary and OUT_DQ at every monitor check.

Each check's Welch ASDs (the ones drawn on the page) give PSDs and so ranges
(:func:`deepclean.utils.signal.range.bns_range_mpc`: 1.4 + 1.4 M_sun, SNR 8, from 15 Hz).
:class:`RangeHistory` keeps the recent points (``plot_history`` s), serves them to the status
page and ``/status``, sets the Prometheus gauge ``deepclean_monitor_bns_range_mpc{series}``
and keeps ``$PROJECT_DIR/monitor/ranges.json`` (written atomically) so a restarted monitor
shows its history. The promotion gate on ranges is :mod:`deepclean.utils.monitoring.range_gate`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

import numpy as np
from prometheus_client import CollectorRegistry

from deepclean.services.monitor.plots import NO_SEGMENT, history_png, new_figure, plot_series
from deepclean.utils.files import load_state_json, save_state_text
from deepclean.utils.metric_set import MetricSet
from deepclean.utils.monitoring.range_gate import SegmentRanges
from deepclean.utils.signal.range import bns_range_mpc

logger = logging.getLogger(__name__)

RANGES_FILE = "ranges.json"
RANGE_SIZE = (800, 300)  #: width, height of the range history figure in pixels
SERIES = ("raw", "production", "canary", "out_dq")


def segment_ranges(gps: int, freqs: np.ndarray, asds: Mapping[str, np.ndarray]) -> SegmentRanges:
    """Ranges (Mpc) of the series whose ASDs (1/sqrt(Hz)) at ``freqs`` are given by name."""
    return SegmentRanges(gps, **{name: bns_range_mpc(freqs, asds[name] ** 2) for name in SERIES})


class RangeHistory:
    """Recent :class:`SegmentRanges`, thread-safe, persisted next to the monitor's state."""

    def __init__(
        self, directory: Path, registry: CollectorRegistry, history_seconds: float
    ) -> None:
        self.path = Path(directory) / RANGES_FILE
        self.history_seconds = history_seconds
        self.lock = threading.Lock()
        self.points: deque[SegmentRanges] = deque()
        self.gauge = MetricSet("monitor", registry).gauge(
            "bns_range_mpc",
            "BNS inspiral range (1.4+1.4 Msun, SNR 8) of the last usable segment, Mpc",
            ["series"],
        )
        self._load()

    def _load(self) -> None:
        saved = load_state_json(
            self.path, "range history", lambda data: [SegmentRanges(**p) for p in data]
        )
        self.points.extend(saved or [])

    def record(self, point: SegmentRanges) -> None:
        with self.lock:
            self.points.append(point)
            while self.points and self.points[0].gps < point.gps - self.history_seconds:
                self.points.popleft()
            for name in SERIES:
                self.gauge.labels(name).set(getattr(point, name))
            text = json.dumps([asdict(p) for p in self.points])
        save_state_text(self.path, text, "the range history")

    def snapshot(self) -> list[dict[str, float]]:
        with self.lock:
            return [asdict(p) for p in self.points]

    def latest(self) -> SegmentRanges | None:
        with self.lock:
            return self.points[-1] if self.points else None


def range_png(points: list[dict[str, float]], now_gps: int | None, window: float) -> bytes:
    """BNS range of each series over the last ``window`` s (minutes before ``now_gps``)."""
    fig = new_figure(RANGE_SIZE)
    ax = fig.add_subplot()
    drawn = bool(points) and now_gps is not None
    if drawn:
        minutes = [(p["gps"] - now_gps) / 60.0 for p in points]
        for name in SERIES:
            plot_series(ax, minutes, [p[name] for p in points], name, dot_size=4)
        ax.set_xlim(max(-window / 60.0, min(min(minutes) * 1.1, -1.0)), 0.2)
    return history_png(fig, ax, "BNS range [Mpc]", empty=None if drawn else NO_SEGMENT)
