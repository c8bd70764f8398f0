"""The trainer's reading of the monitor's evidence: retrain early when production degrades.

The monitor rewrites ``$PROJECT_DIR/monitor/production_ratios.json`` atomically after every
usable check of the trained production version
(:mod:`deepclean.utils.monitoring.production_record`). :class:`EarlyRetrainer` re-reads it when
it changed (size or modification time) and applies
:func:`deepclean.utils.training.early_retrain.early_retrain`. No file, an unreadable one (logged
once per version of the file) or a monitor that is down means no early run: the cadence alone
decides, as without the monitor.
"""

from __future__ import annotations

import json
import logging

from deepclean.services.trainer.settings import TrainerSettings
from deepclean.utils.monitoring.production_record import ProductionRecord, record_path
from deepclean.utils.training.early_retrain import EarlyRetrainRule, Evidence, early_retrain

logger = logging.getLogger(__name__)


class EarlyRetrainer:
    """Whether the monitor's record calls for a run before the cadence."""

    def __init__(self, settings: TrainerSettings) -> None:
        self.path = record_path(settings.project_dir)
        self.rule = EarlyRetrainRule(
            settings.early_retrain_checks,
            settings.early_retrain_tolerance,
            settings.early_retrain_min_gap,
        )
        self.record: ProductionRecord | None = None
        self._stamp: tuple[int, int] | None = None  #: (mtime_ns, size) of the file read

    def _read(self) -> ProductionRecord | None:
        """The record on disk, re-read only when the file changed."""
        try:
            info = self.path.stat()
        except OSError:
            self.record, self._stamp = None, None
            return None
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self.record = ProductionRecord.from_json(json.loads(self.path.read_text()))
            except (OSError, ValueError) as exc:
                self.record = None
                logger.warning(
                    "no early retraining from %s until it is rewritten: %s", self.path, exc
                )
        return self.record

    def check(self, now: int, last_start: int | None) -> Evidence | None:
        """The evidence when a run is due early at GPS ``now``, else None (``last_start``: the
        GPS at which the last run started)."""
        if last_start is None:  # the first run waits for data only
            return None
        record = self._read()
        if record is None:
            return None
        evidence = early_retrain(record.checks, now, last_start, self.rule)
        return evidence if evidence.due else None

    def describe(self, now: int, evidence: Evidence) -> str:
        """The log line of an early run started at GPS ``now``."""
        return (
            f"retraining early at GPS {now}: production {self.record.production}'s in-band "
            f"ratio {evidence.recent:.4f} over its latest {self.rule.checks} checks is "
            f"{evidence.rise:+.1%} above {evidence.baseline:.4f} over its first "
            f"{self.rule.checks} (tolerance {self.rule.tolerance:.0%}; {self.path})"
        )
