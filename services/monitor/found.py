"""The injections the monitor has measured, once each, kept across restarts.

One entry per injection of the list (:mod:`.injections` measures them)::

    {"kind": "bns", "gps": 1400000075.2, "optimal_snr": 30.0,
     "snr": {"raw": 29.1, "production": 29.3, "canary": 29.2, "out_dq": 29.3},
     "status": "ok" | "fail" | "not measurable", "reason": null | "why not measurable"}

``status`` is ``deepclean validate``'s verdict (``fail``: a cleaned series lost more than
``max_snr_loss`` of the raw SNR) or ``not measurable`` (its data is gone: dropped seconds,
older than the archive). :class:`MeasuredInjections` saves the whole list to
``$PROJECT_DIR/monitor/injections.json`` (atomic and fsynced, ``utils/files``) after each
entry and reloads it at start, so a restarted monitor shows what it found and measures none
twice; it sets the gauge ``deepclean_monitor_injection_snr{series}`` to the SNRs of the
latest injection found (restored at start).
"""

from __future__ import annotations

import json
import logging
import threading
from enum import StrEnum
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from deepclean.utils.files import load_state_json, save_state_text
from deepclean.utils.injection_list import row_key
from deepclean.utils.metric_set import MetricSet

logger = logging.getLogger(__name__)

INJECTIONS_FILE = "injections.json"
SNR_DOC = "matched-filter SNR of the latest injection found, per series"
MAX_SHOWN = 20  #: entries on the status page and in /status, newest first


class Status(StrEnum):
    """What measuring an injection gave."""

    OK = "ok"  #: found; no cleaned series lost more than validate's max_snr_loss
    FAIL = "fail"  #: found; a cleaned series lost more than that
    NOT_MEASURABLE = "not measurable"  #: its data is gone; ``reason`` says why


def entry(
    row: dict[str, Any],
    status: Status,
    *,
    snr: dict[str, float] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The list's entry for injection ``row`` (a row of the injection list)."""
    return {
        "kind": row["kind"],
        "gps": row["gps"],
        "optimal_snr": row["optimal_snr"],
        "snr": dict(snr or {}),
        "status": status.value,
        "reason": reason,
    }


class MeasuredInjections:
    """The entries in the order measured, thread-safe, persisted in ``directory``."""

    def __init__(self, directory: Path, registry: CollectorRegistry) -> None:
        self.path = Path(directory) / INJECTIONS_FILE
        self.lock = threading.Lock()
        self.entries: dict[tuple[str, float], dict[str, Any]] = {}
        self.gauge = MetricSet("monitor", registry).gauge("injection_snr", SNR_DOC, ["series"])
        self._load()

    def _load(self) -> None:
        def parse(data) -> dict[tuple[str, float], dict[str, Any]]:
            items = data["injections"]
            for item in items:
                Status(item["status"])  # a ValueError when not one
            return {row_key(item): item for item in items}

        self.entries = load_state_json(self.path, "list of injections found", parse) or {}
        if not self.entries:
            return
        found = [e for e in self.entries.values() if e["status"] != Status.NOT_MEASURABLE]
        if found:
            self._set_gauge(found[-1])
        logger.info(
            "resumed %d measured injection(s) from %s (%d found)",
            len(self.entries),
            self.path,
            len(found),
        )

    def _set_gauge(self, item: dict[str, Any]) -> None:
        for name, value in item["snr"].items():
            self.gauge.labels(name).set(value)

    def done(self, row: dict[str, Any]) -> bool:
        """Whether injection ``row`` was measured already."""
        with self.lock:
            return row_key(row) in self.entries

    def add(self, item: dict[str, Any]) -> None:
        """Record ``item`` (an :func:`entry`) and save the list."""
        with self.lock:
            self.entries[row_key(item)] = item
            if item["status"] != Status.NOT_MEASURABLE:
                self._set_gauge(item)
            text = json.dumps({"injections": list(self.entries.values())}, indent=1)
        save_state_text(self.path, text, "the list of injections found")

    def snapshot(self) -> list[dict[str, Any]]:
        """The latest :data:`MAX_SHOWN` entries by GPS, newest first."""
        with self.lock:
            items = sorted(self.entries.values(), key=lambda e: e["gps"], reverse=True)
        return items[:MAX_SHOWN]

    def counts(self) -> dict[str, int]:
        """Entries per status."""
        with self.lock:
            statuses = [e["status"] for e in self.entries.values()]
        return {s.value: statuses.count(s.value) for s in Status}
