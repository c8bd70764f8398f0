"""Production after its promotion: consecutive bad checks call for a rollback (pure state).

Every usable check of a trained production version compares its in-band ASD ratio against
raw (``production_ratio``) with ``max_ratio``, the limit a canary must meet to be promoted.
A check above the limit counts one failure, a check at or below it resets the count; a skipped
check changes nothing. ``failures`` consecutive failures make :meth:`ProductionWatch.check`
answer ``due``: the monitor then asks the exporter to roll production back to the version
that was production before it. A different production version starts from zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProductionCheck:
    """One check of production: its ratio, the failures in a row after it, and whether a
    rollback is due."""

    gps: int  #: end of the segment checked
    production: int
    production_ratio: float
    max_ratio: float
    failures: int
    needed: int

    @property
    def failed(self) -> bool:
        return self.production_ratio > self.max_ratio

    @property
    def due(self) -> bool:
        return self.failures >= self.needed

    def evidence(self) -> dict[str, Any]:
        """The figures behind a rollback, for the audit log."""
        return {
            "gps": self.gps,
            "production_ratio": self.production_ratio,
            "max_ratio": self.max_ratio,
            "failures_in_a_row": self.failures,
        }

    def describe(self) -> str:
        return (
            f"production {self.production} at GPS {self.gps}: production/raw "
            f"{self.production_ratio:.4f} {'>' if self.failed else '<='} max_ratio "
            f"{self.max_ratio:g}, {self.failures}/{self.needed} failure(s) in a row"
        )


@dataclass
class ProductionWatch:
    """Consecutive failures of the current production version."""

    failures_needed: int
    max_ratio: float
    production: int | None = None
    failures: int = 0

    def __post_init__(self) -> None:
        if self.failures_needed < 1 or not self.max_ratio > 0:
            raise ValueError(
                f"failures {self.failures_needed} must be at least 1 and max_ratio "
                f"{self.max_ratio} > 0"
            )

    def check(self, gps: int, production: int, production_ratio: float) -> ProductionCheck:
        """Record one usable check of the trained ``production`` version."""
        if production != self.production:
            self.production, self.failures = production, 0
        if production_ratio > self.max_ratio:
            self.failures += 1
        else:
            self.failures = 0
        return ProductionCheck(
            gps,
            production,
            float(production_ratio),
            self.max_ratio,
            self.failures,
            self.failures_needed,
        )

    def rolled_back(self, production: int) -> None:
        """The rollback away from ``production`` went through."""
        if production == self.production:
            self.production, self.failures = None, 0

    def to_json(self) -> dict[str, Any]:
        return {"production": self.production, "failures": self.failures}

    def restore(self, data: dict[str, Any]) -> None:
        """Take over the counts saved by :meth:`to_json` (a restarted monitor)."""
        production = data.get("production")
        self.production = int(production) if production is not None else None
        self.failures = int(data.get("failures", 0))
