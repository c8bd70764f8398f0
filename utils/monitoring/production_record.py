"""The monitor's record of production's in-band ratio since it became production (pure data).

The monitor keeps it at ``$PROJECT_DIR/monitor/production_ratios.json`` (:func:`record_path`),
rewritten atomically after every usable check of a trained production version; the trainer
reads it to retrain early when production degrades (:mod:`deepclean.utils.training.
early_retrain`), so it needs neither the monitor's HTTP server nor its internal state file.
Layout::

    {"production": 7, "count": 130,
     "checks": [{"gps": 1400000064, "ratio": 0.0612}, ...]}

``production`` is the DeepClean version judged; ``checks`` are its checks, oldest first: the
end (GPS second) of the segment checked and production's in-band ASD ratio against raw over
it (1 = nothing removed). Only the first :data:`KEPT_CHECKS` and the latest
:data:`KEPT_CHECKS` are kept (the ones in between are dropped once there are more than twice
that); ``count`` is how many checks the version has had. A different production version (a
promotion, a rollback) starts a new record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RECORD_FILE = "production_ratios.json"
#: checks kept from each end of a version's history: its first ones (the level after the
#: promotion) and its latest ones (the level now)
KEPT_CHECKS = 64


def record_path(project_dir: Path) -> Path:
    """``$PROJECT_DIR/monitor/production_ratios.json``."""
    return Path(project_dir) / "monitor" / RECORD_FILE


@dataclass(frozen=True)
class RatioCheck:
    """One usable check of production: the segment's end (GPS second) and its in-band ratio."""

    gps: int
    ratio: float


@dataclass
class ProductionRecord:
    """The checks of the current production version (see the module docstring)."""

    production: int | None = None
    count: int = 0
    checks: list[RatioCheck] = field(default_factory=list)

    def add(self, gps: int, production: int, ratio: float) -> None:
        """Record one usable check of ``production`` ending at ``gps``."""
        if production != self.production:
            self.production, self.count, self.checks = production, 0, []
        self.checks.append(RatioCheck(int(gps), float(ratio)))
        self.count += 1
        if len(self.checks) > 2 * KEPT_CHECKS:
            del self.checks[KEPT_CHECKS]  # the oldest of the latest ones

    def to_json(self) -> dict[str, Any]:
        return {
            "production": self.production,
            "count": self.count,
            "checks": [{"gps": c.gps, "ratio": c.ratio} for c in self.checks],
        }

    @classmethod
    def from_json(cls, data: Any) -> ProductionRecord:
        """The record :meth:`to_json` wrote; ValueError naming what is wrong otherwise."""
        try:
            production = data["production"]
            checks = [RatioCheck(int(c["gps"]), float(c["ratio"])) for c in data["checks"]]
            record = cls(
                None if production is None else int(production), int(data["count"]), checks
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"not a production record ({type(exc).__name__}: {exc}); expected "
                '{"production": int, "count": int, "checks": [{"gps": int, "ratio": float}]}'
            ) from exc
        if record.count < len(record.checks):
            raise ValueError(
                f"production record counts {record.count} check(s) but lists {len(checks)}"
            )
        return record
