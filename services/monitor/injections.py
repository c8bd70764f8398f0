"""Injections found by the monitor: matched-filter SNR of each simulated signal it sees.

When ``$DATA_DIR/injections-<IFO>.json`` exists (``deepclean simulate --inject-*``, the
``./run.sh up`` demo), every check looks for the injections whose signal lies inside its
segment (with ``PAD_S`` to spare) and measures them as ``deepclean validate`` does
(:func:`deepclean.services.validate.report.measure_injection`): the template regenerated from
the list's parameters, the PSD from the rest of the segment, the SNR in raw, production,
canary and OUT_DQ. The last ``MAX_FOUND`` are kept for the status page and ``/status``, and
the gauge ``deepclean_monitor_injection_snr{series}`` holds the latest injection's SNRs.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Gauge

from deepclean.services.validate.data import Data
from deepclean.services.validate.report import Method, measure_injection
from deepclean.utils.errors import ConfigError
from deepclean.utils.ifo import IFO
from deepclean.utils.injection_list import read_injections
from deepclean.utils.products import CLEANED_RATE_HZ

logger = logging.getLogger(__name__)

MAX_FOUND = 20
PAD_S = 2.0
NAMES = ("raw", "production", "canary", "out_dq")  #: the order of the segment's series


class InjectionFinder:
    """Measures the listed injections inside each checked segment."""

    def __init__(self, data_dir: Path, ifo: IFO | str, registry: CollectorRegistry) -> None:
        self.path = Path(data_dir) / f"injections-{IFO(ifo)}.json"
        self.ifo = IFO(ifo)
        self.lock = threading.Lock()
        self.found: deque[dict[str, Any]] = deque(maxlen=MAX_FOUND)
        self._seen: set[tuple[str, float]] = set()
        self.gauge = Gauge(
            "deepclean_monitor_injection_snr",
            "matched-filter SNR of the latest injection found, per series",
            ["series"],
            registry=registry,
        )

    def _rows(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        try:
            return read_injections(self.path)[1]
        except ConfigError as exc:
            logger.warning("%s", exc)
            return []

    def check(self, end: int, length: int, stacked: np.ndarray) -> list[dict[str, Any]]:
        """Measure the injections inside ``[end - length, end)``; ``stacked``: the segment's
        series in :data:`NAMES` order at 4096 Hz. Returns what was found now."""
        start = end - length
        rows = self._rows()
        inside = [
            r
            for r in rows
            if r["start_gps"] - PAD_S >= start
            and r["end_gps"] + PAD_S <= end
            and (r["kind"], r["gps"]) not in self._seen
        ]
        if not inside:
            return []
        data = Data(start, length, CLEANED_RATE_HZ, dict(zip(NAMES, stacked)))
        method = Method(pad_s=PAD_S, psd_length_s=float(length), psd_fftlength_s=2.0)
        free = np.ones(length * int(CLEANED_RATE_HZ), dtype=bool)
        for r in rows:  # every signal out of the PSD
            a = int(max(0, (r["start_gps"] - 1 - start) * CLEANED_RATE_HZ))
            b = int(max(0, (r["end_gps"] + 1 - start) * CLEANED_RATE_HZ))
            free[a:b] = False
        found = []
        for row in inside:
            try:
                result = measure_injection(data, row, free, method, self.ifo)
            except ValueError as exc:
                logger.warning(
                    "injection %s at GPS %.3f not measured: %s", row["kind"], row["gps"], exc
                )
                continue
            self._seen.add((row["kind"], row["gps"]))
            snrs = {
                name: s["snr"]
                for name, s in result.get("series", {}).items()
                if s.get("status") == "ok"
            }
            entry = {
                "kind": row["kind"],
                "gps": row["gps"],
                "optimal_snr": row["optimal_snr"],
                "snr": snrs,
                "status": result["status"],
            }
            logger.info(
                "injection %s at GPS %.3f found: SNR %s (optimal %.1f)",
                row["kind"],
                row["gps"],
                ", ".join(f"{k} {v:.1f}" for k, v in snrs.items()),
                row["optimal_snr"],
            )
            found.append(entry)
            with self.lock:
                self.found.append(entry)
                for name, value in snrs.items():
                    self.gauge.labels(name).set(value)
        return found

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.found)[::-1]
