"""The monitor's watch over production after a promotion, and its rollback through the exporter.

Every usable check of a trained production version feeds
:class:`~deepclean.utils.monitoring.rollback.ProductionWatch`; when production's in-band
ratio against raw has exceeded ``max_ratio`` for ``failures`` checks in a row, the monitor
sends ``POST /rollback {"production": P, "by": "monitor", "evidence": {...}}`` to the
exporter, which goes back to the version that was production before P and writes the audit
entry. A refused or failed request is logged and tried again at the next failing check.
The counts survive a restart (``PROJECT_DIR/monitor/production_watch.json``). Each such check
also goes into ``PROJECT_DIR/monitor/production_ratios.json``, the record of the production
version's ratios the trainer reads to retrain early
(:mod:`deepclean.utils.monitoring.production_record`), written atomically.

Also here: the audit entries the monitor writes itself (a rejected canary: the exporter
never hears of it) and the evidence it sends with a promotion.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from deepclean.services.monitor.exporter_client import ExporterClient
from deepclean.utils.audit import Actor, AuditAction, append_audit
from deepclean.utils.files import save_state_text
from deepclean.utils.monitoring.decision import Decision, Thresholds
from deepclean.utils.monitoring.production_record import RECORD_FILE, ProductionRecord
from deepclean.utils.monitoring.rollback import ProductionCheck, ProductionWatch

logger = logging.getLogger(__name__)

WATCH_FILE = "production_watch.json"


class ProductionGuard:
    """Rolls production back through ``exporter`` after ``failures`` bad checks in a row."""

    def __init__(self, directory: Path, thresholds: Thresholds, exporter: ExporterClient) -> None:
        self.path = Path(directory) / WATCH_FILE
        self.watch = ProductionWatch(thresholds.failures, thresholds.max_ratio)
        #: production's ratios since it became production, for the trainer
        self.record_path = Path(directory) / RECORD_FILE
        self.record = ProductionRecord()
        self.exporter = exporter
        self.last: ProductionCheck | None = None
        self._load()

    def _load(self) -> None:
        try:
            self.watch.restore(json.loads(self.path.read_text()))
        except FileNotFoundError:
            pass
        except (ValueError, TypeError, AttributeError) as exc:
            logger.error("ignoring unreadable production watch %s: %s", self.path, exc)
        try:
            self.record = ProductionRecord.from_json(json.loads(self.record_path.read_text()))
        except FileNotFoundError:
            pass
        except ValueError as exc:
            logger.error(
                "starting a new production record: %s is unreadable: %s", self.record_path, exc
            )

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        save_state_text(self.path, json.dumps(self.watch.to_json()), "the production watch")
        text = json.dumps(self.record.to_json())
        save_state_text(self.record_path, text, "the production record")

    def check(self, gps: int, production: int, production_ratio: float) -> dict[str, Any] | None:
        """Record a usable check of the trained ``production``; roll it back when due.

        Returns the exporter's answer to a rollback that went through, else None.
        """
        check = self.last = self.watch.check(gps, production, production_ratio)
        self.record.add(gps, production, production_ratio)
        (logger.warning if check.failed else logger.debug)("%s", check.describe())
        answer = None
        if check.due:
            logger.warning("rolling back production %d: %s", production, check.describe())
            answer = self.exporter.rollback(production, check.evidence())
            if answer is not None:
                self.watch.rolled_back(production)
                logger.warning(
                    "rolled back production %d to %s (exporter: %s)",
                    production,
                    answer.get("production"),
                    answer,
                )
            else:
                logger.error(
                    "rollback of production %d failed (%s); tried again at the next failing check",
                    production,
                    self.exporter.last_error,
                )
        self._save()
        return answer

    def status(self) -> dict[str, Any]:
        """For the status page: the production watched and its failures in a row."""
        return {
            **self.watch.to_json(),
            "needed": self.watch.failures_needed,
            "max_ratio": self.watch.max_ratio,
            "last": None if self.last is None else self.last.describe(),
        }


def promotion_evidence(decision: Decision, thresholds: Thresholds) -> dict[str, Any]:
    """What a promotion rests on, sent to the exporter for its audit entry."""
    return {
        "gps": decision.gps,
        "canary_ratio": decision.canary_ratio,
        "production_ratio": decision.production_ratio,
        "passes_in_a_row": decision.passes,
        "max_ratio": thresholds.max_ratio,
        "tolerance": thresholds.tolerance,
    }


def audit_rejection(project_dir: Path, ifo: str, decision: Decision) -> None:
    """Append the rejection of ``decision.canary`` to the audit log (a failure is logged)."""
    try:
        append_audit(
            project_dir,
            AuditAction.REJECT,
            Actor.MONITOR,
            ifo=ifo,
            versions={"version": decision.canary, "production": decision.production},
            evidence={
                "gps": decision.gps,
                "canary_ratio": decision.canary_ratio,
                "production_ratio": decision.production_ratio,
                "failures_in_a_row": decision.failures,
                "reason": decision.reason,
            },
        )
    except (OSError, ValueError) as exc:
        logger.error("audit log: could not record the rejection of %d: %s", decision.canary, exc)
