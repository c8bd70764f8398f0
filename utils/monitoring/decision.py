"""The canary decision: consecutive passes promote, consecutive failures reject (pure state).

A check compares the canary's in-band ASD ratio against raw (``canary_ratio``) with the
production model's on the same samples (``production_ratio``; an untrained production
model counts as 1, i.e. raw). It passes when ``canary_ratio <= max_ratio`` **and**
``canary_ratio <= reference * (1 + tolerance)``: a canary that merely beats raw but is worse
than production fails. A skipped check (unusable data) changes no count. A pass resets the
failure count and a failure the pass count; ``passes`` consecutive passes give
:attr:`Verdict.PROMOTE` (repeated on later passes until the service reports the promotion
done), ``failures`` consecutive failures :attr:`Verdict.REJECT`: the version is remembered
as rejected and never checked again. A different canary version starts from zero.

A new canary that arrives while one is being judged (the trainer's next run, exported
before the monitor has decided) replaces it: the exporter serves one canary, so the old one
can no longer be checked, and evidence is per model, never carried over (a pass of one model
says nothing about another). The decision that follows says so (``replaced canary N after k
pass(es)``). Promotion cannot starve as long as judging is faster than retraining: a check
now runs over the seconds present (``segment.check_segment``, ``min_coverage``), so a canary
is decided within about ``passes * monitor_period`` seconds of data (demo: 3 x 64 s; default:
10 x 64 s), well inside the trainer's ``retrain_cadence`` (2048 s). Before (issue 22), a
check needed a perfect window, and with 2 % dropped frames most were skipped, so each canary
was replaced before it had its passes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    """The outcome of one check."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    PROMOTE = "promote"  #: passed, and enough consecutive passes to promote
    REJECT = "reject"  #: failed, and enough consecutive failures to reject


@dataclass(frozen=True)
class Thresholds:
    """Decision thresholds (see the module docstring)."""

    passes: int = 10
    failures: int = 5
    max_ratio: float = 1.0
    tolerance: float = 0.02

    def __post_init__(self) -> None:
        if self.passes < 1 or self.failures < 1:
            raise ValueError(
                f"passes {self.passes} and failures {self.failures} must be at least 1"
            )
        if not self.max_ratio > 0 or self.tolerance < 0:
            raise ValueError(
                f"max_ratio {self.max_ratio} must be > 0 and tolerance {self.tolerance} >= 0"
            )


@dataclass(frozen=True)
class Decision:
    """One check and what it led to (figures for the log, the status page and metrics)."""

    gps: int  #: end of the segment checked
    production: int
    canary: int
    verdict: Verdict
    canary_ratio: float | None = None
    production_ratio: float | None = None  #: None: production untrained (counts as 1)
    passes: int = 0  #: consecutive passes after this check
    failures: int = 0  #: consecutive failures after this check
    reason: str = ""
    ranges_mpc: dict[str, float] | None = None  #: BNS range per series of the segment, Mpc

    def describe(self) -> str:
        def fmt(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.4f}"

        ranges = (
            "; BNS range " + ", ".join(f"{k} {v:.2f}" for k, v in self.ranges_mpc.items()) + " Mpc"
            if self.ranges_mpc
            else ""
        )
        return (
            f"canary {self.canary} vs production {self.production} at GPS {self.gps}: "
            f"{self.verdict.value} "
            f"(canary/raw {fmt(self.canary_ratio)}, production/raw {fmt(self.production_ratio)}, "
            f"{self.passes} pass(es), {self.failures} failure(s) in a "
            f"row{'; ' + self.reason if self.reason else ''}{ranges})"
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        return cls(**{**data, "verdict": Verdict(data["verdict"])})


@dataclass
class CanaryTracker:
    """Consecutive passes and failures of the current canary, and the rejected versions."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    canary: int | None = None
    passes: int = 0
    failures: int = 0
    rejected: set[int] = field(default_factory=set)

    def should_check(self, production: int, canary: int) -> bool:
        """True when ``canary`` is newer than ``production`` and not rejected."""
        return canary > production and canary not in self.rejected

    def _follow(self, canary: int) -> str:
        """Follow ``canary``; a note when it replaced one that had evidence."""
        note = ""
        if canary != self.canary:
            if self.canary is not None and (self.passes or self.failures):
                note = (
                    f"replaced canary {self.canary} after {self.passes} pass(es) and "
                    f"{self.failures} failure(s)"
                )
            self.canary, self.passes, self.failures = canary, 0, 0
        return note

    def skip(self, gps: int, production: int, canary: int, reason: str) -> Decision:
        """A check that could not be made: counts unchanged."""
        note = self._follow(canary)
        return Decision(
            gps,
            production,
            canary,
            Verdict.SKIP,
            passes=self.passes,
            failures=self.failures,
            reason="; ".join(filter(None, [reason, note])),
        )

    def check(
        self,
        gps: int,
        production: int,
        canary: int,
        canary_ratio: float,
        production_ratio: float | None,
        veto: str | None = None,
    ) -> Decision:
        """Record one check of ``canary`` against raw and ``production`` (None: untrained);
        ``veto``: a reason the check fails whatever the ratios (the BNS range gate)."""
        if not self.should_check(production, canary):
            raise ValueError(
                f"canary {canary} is not checked against production {production} "
                f"(not newer, or rejected: {sorted(self.rejected)})"
            )
        note = self._follow(canary)
        t = self.thresholds
        reference = 1.0 if production_ratio is None else production_ratio
        limit = min(t.max_ratio, reference * (1 + t.tolerance))
        if canary_ratio <= limit and veto is None:
            self.passes, self.failures = self.passes + 1, 0
            verdict = Verdict.PROMOTE if self.passes >= t.passes else Verdict.PASS
            reason = f"canary/raw <= {limit:.4f}"
        else:
            self.passes, self.failures = 0, self.failures + 1
            verdict = Verdict.FAIL
            if canary_ratio <= limit:
                reason = str(veto)
            elif canary_ratio > t.max_ratio:
                reason = f"canary/raw > max_ratio {t.max_ratio:g}"
            else:
                reason = f"worse than production by more than {t.tolerance:.1%} (limit {limit:.4f})"
            if self.failures >= t.failures:
                verdict = Verdict.REJECT
                self.rejected.add(canary)
        return Decision(
            gps,
            production,
            canary,
            verdict,
            canary_ratio,
            production_ratio,
            self.passes,
            self.failures,
            "; ".join(filter(None, [reason, note])),
        )

    def promoted(self, canary: int) -> None:
        """The promotion of ``canary`` went through: nothing left to check for it."""
        if canary == self.canary:
            self.canary, self.passes, self.failures = None, 0, 0

    def to_json(self) -> dict[str, Any]:
        return {
            "canary": self.canary,
            "passes": self.passes,
            "failures": self.failures,
            "rejected": sorted(self.rejected),
        }

    @classmethod
    def from_json(cls, thresholds: Thresholds, data: dict[str, Any]) -> CanaryTracker:
        return cls(
            thresholds,
            data.get("canary"),
            int(data.get("passes", 0)),
            int(data.get("failures", 0)),
            {int(v) for v in data.get("rejected", [])},
        )
