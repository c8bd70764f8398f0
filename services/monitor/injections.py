"""Injections found by the monitor: the matched-filter SNR of every simulated signal, once.

When ``$DATA_DIR/injections-<IFO>.json`` exists (``deepclean simulate --inject-*``, the
``./run.sh up`` demo), the monitor's injection thread (:meth:`InjectionFinder.run`, off the
loop and the checker) measures each listed injection once the data its measurement needs is
in the past: the signal plus ``pad_s`` and ``psd_length_s`` on each side
(:func:`deepclean.services.validate.report.data_span`; ~130 s for a 60 s BNS), up to the
newest cleaned second the loop went through. It reads that span from the cleaned frames,
the carousel first and the archive for the seconds the carousel no longer holds, and
measures it as ``deepclean validate`` does (:func:`~deepclean.services.validate.report.
measure_injection` with validate's default :class:`~deepclean.services.validate.report.Method`:
template regenerated from the list's parameters, median-Welch PSD of the signal-free data on
each side, SNR in raw, production, canary and OUT_DQ). An injection whose segment has
missing seconds (dropped, or older than the archive) or no data for a PSD is recorded once
as not measurable with the reason. Entries are kept by :mod:`.found` (persisted, restored).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry

from deepclean.services.monitor.found import MeasuredInjections, Status, entry
from deepclean.services.validate.data import Data, available_span, read_cleaned
from deepclean.services.validate.report import (
    Method,
    data_span,
    measure_injection,
    segment_span,
    signal_free,
)
from deepclean.utils.errors import ConfigError
from deepclean.utils.frames.naming import FrameKind, frame_path
from deepclean.utils.ifo import IFO
from deepclean.utils.injection_list import read_injections
from deepclean.utils.monitoring.spans import runs
from deepclean.utils.products import CLEANED_RATE_HZ

logger = logging.getLogger(__name__)

POLL_S = 1.0  #: wall seconds between two looks for injections whose data is complete
JOIN_S = 20.0  #: wall seconds a stop waits for the measurement under way (a BNS: a few s)


class InjectionFinder:
    """Measures the listed injections of ``ifo`` in the cleaned frames of ``project_dir``."""

    def __init__(
        self,
        data_dir: Path,
        project_dir: Path,
        ifo: IFO | str,
        registry: CollectorRegistry,
        method: Method | None = None,
    ) -> None:
        self.ifo = IFO(ifo)
        self.path = Path(data_dir) / f"injections-{self.ifo}.json"
        self.carousel = frame_path(Path(project_dir), FrameKind.CLEANED, self.ifo, 0).parent
        self.archive = Path(project_dir) / "archive" / str(self.ifo)
        self.method = method or Method()  #: validate's defaults
        self.measured = MeasuredInjections(Path(project_dir) / "monitor", registry)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None  #: (mtime_ns, size) of the list read
        self._rows: list[dict[str, Any]] = []

    def rows(self) -> list[dict[str, Any]]:
        """The injection list's rows (read again when the file changes; [] without one)."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return []
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._stamp, self._rows = stamp, self._read()
            return self._rows

    def _read(self) -> list[dict[str, Any]]:
        try:
            ifo, rows = read_injections(self.path)
        except ConfigError as exc:
            logger.warning("%s", exc)  # once per version of the file
            return []
        if ifo != self.ifo:
            logger.warning("injection list %s is of %s, not %s: ignored", self.path, ifo, self.ifo)
            return []
        return rows

    def due(self, newest_gps: int) -> list[dict[str, Any]]:
        """The injections not measured yet whose data ends at or before ``newest_gps + 1``."""
        return [
            r
            for r in self.rows()
            if data_span(r, self.method)[1] <= newest_gps + 1 and not self.measured.done(r)
        ]

    def start(self, stop: threading.Event, newest: Callable[[], int | None]) -> threading.Thread:
        """:meth:`run` on a daemon thread ``monitor-injections``, started."""
        thread = threading.Thread(
            target=self.run, args=(stop, newest), name="monitor-injections", daemon=True
        )
        thread.start()
        return thread

    def run(self, stop: threading.Event, newest: Callable[[], int | None]) -> None:
        """Until ``stop``: every :data:`POLL_S`, measure what is due against ``newest()`` (the
        newest GPS second the monitor went through; None: none yet), one at a time."""
        while not stop.wait(POLL_S):
            gps = newest()
            for row in [] if gps is None else self.due(gps):
                if stop.is_set():
                    return
                self.find(row)

    def find(self, row: dict[str, Any]) -> dict[str, Any]:
        """Measure injection ``row``, log the result and record it."""
        began = time.monotonic()
        try:
            item = self.measure(row)
        except Exception as exc:  # noqa: BLE001 - a bug in one measurement must not retry forever
            logger.exception("measuring injection %s at GPS %.3f", row["kind"], row["gps"])
            item = entry(row, Status.NOT_MEASURABLE, reason=f"measurement failed: {exc}")
        head = f"injection {row['kind']} at GPS {row['gps']:.3f}"
        if item["status"] == Status.NOT_MEASURABLE:
            logger.warning("%s not measurable: %s", head, item["reason"])
        else:
            logger.info(
                "%s found: SNR %s (optimal %.1f; measured in %.1f s)",
                head,
                ", ".join(f"{k} {v:.1f}" for k, v in item["snr"].items()),
                row["optimal_snr"],
                time.monotonic() - began,
            )
        self.measured.add(item)
        return item

    def measure(self, row: dict[str, Any]) -> dict[str, Any]:
        """The entry of injection ``row`` from the cleaned frames (see the module docstring)."""
        start, end = data_span(row, self.method)
        series = self.read(start, end - start)
        gone = self._gone(series, row, start)
        if gone is not None:
            return entry(row, Status.NOT_MEASURABLE, reason=gone)
        data = Data(start, end - start, CLEANED_RATE_HZ, series)
        near = [r for r in self.rows() if r["end_gps"] > start and r["start_gps"] < end]
        free = signal_free(data, near)
        result = measure_injection(data, row, free, self.method, self.ifo)
        snr = {k: s["snr"] for k, s in result["series"].items() if s.get("status") == "ok"}
        if not snr:
            why = sorted({str(s.get("status")) for s in result["series"].values()})
            return entry(row, Status.NOT_MEASURABLE, reason="; ".join(why))
        return entry(row, Status(result["status"]), snr=snr)

    def read(self, start: int, duration: int) -> dict[str, np.ndarray]:
        """Every product over ``[start, start + duration)`` (NaN where missing): the carousel's
        float64 frames, then the archive for what they lack. In that order, a second the loop
        archives and trims meanwhile is read from the archive, listed after the carousel."""
        series = read_cleaned([self.carousel], self.ifo, start, duration)
        if series and all(np.isfinite(x).all() for x in series.values()):
            return series
        for name, x in read_cleaned([self.archive], self.ifo, start, duration).items():
            series[name] = (
                np.where(np.isnan(series[name]), x, series[name]) if name in series else x
            )
        return series

    def _gone(self, series: dict[str, np.ndarray], row: dict[str, Any], start: int) -> str | None:
        """Why the segment of ``row`` cannot be measured from ``series`` (None: it can)."""
        a, b = segment_span(row, self.method)
        fs = int(CLEANED_RATE_HZ)
        raw = series.get("raw")
        missing = [
            g
            for g in range(a, b)
            if raw is None or not np.isfinite(raw[(g - start) * fs : (g - start + 1) * fs]).all()
        ]
        if not missing:
            return None
        kept = available_span([self.archive, self.carousel], self.ifo)
        if len(missing) == b - a and (kept is None or b <= kept[0]):
            oldest = "none is kept" if kept is None else f"the oldest kept is GPS {kept[0]}"
            return f"its data (GPS {a}-{b}) is older than the cleaned frames ({oldest})"
        if len(missing) == b - a:
            return f"all of its segment GPS {a}-{b} is missing from the cleaned frames"
        gaps = ", ".join(f"{s}-{e}" for s, e in runs(missing))
        return (
            f"{len(missing)} s of its segment GPS {a}-{b} missing from the cleaned frames: {gaps}"
        )

    def snapshot(self) -> list[dict[str, Any]]:
        """The latest entries, newest first (``/status``'s ``injections``)."""
        return self.measured.snapshot()

    def counts(self) -> dict[str, int]:
        """Entries per status and the listed injections still waiting for their data."""
        waiting = sum(not self.measured.done(r) for r in self.rows())
        return {**self.measured.counts(), "waiting": waiting}
