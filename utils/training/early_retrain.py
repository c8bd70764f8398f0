"""When the trainer retrains before its cadence: production measured degrading (pure arithmetic).

Input: the monitor's checks of the current production version (GPS second, in-band ASD ratio
production/raw, oldest first; :mod:`deepclean.utils.monitoring.production_record`). With
``N = checks``, the *baseline* is the mean ratio of the version's first ``N`` checks (its
level after the promotion) and the *recent* level the mean of its latest ``N``. A run is due
early when all of these hold:

- a training run has started before (before the first one the cadence rule starts at once);
- the version has at least ``2 N`` checks, so baseline and recent levels are disjoint;
- at least ``min_gap`` seconds of data have passed since the last run started (its span's
  end, GPS), so a canary from that run can be exported and judged first;
- the latest ``N`` checks all end after the last run started: each run is answered by
  evidence gathered since, never twice by the same (or a stale record while the monitor is
  down);
- recent > baseline * (1 + ``tolerance``): the ratio rose by more than that fraction.

Averaging ``N`` checks of the monitor's ~3.7 % scatter per 64 s check (median Welch,
:mod:`deepclean.utils.monitoring.asd`) leaves ~1.7 % on each level, so the default 10 %
tolerance (``TrainerSettings``) is > 4 sigma of their difference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from deepclean.utils.monitoring.production_record import RatioCheck


@dataclass(frozen=True)
class EarlyRetrainRule:
    """The rule's settings: checks averaged ``N``, relative ``tolerance``, ``min_gap`` (s)."""

    checks: int
    tolerance: float
    min_gap: int

    def __post_init__(self) -> None:
        if self.checks < 1 or not self.tolerance > 0 or self.min_gap < 0:
            raise ValueError(
                f"early retrain rule checks={self.checks}, tolerance={self.tolerance}, "
                f"min_gap={self.min_gap}: need checks >= 1, tolerance > 0, min_gap >= 0"
            )


@dataclass(frozen=True)
class Evidence:
    """The rule's answer: whether a run is due early, why, and the levels it compared."""

    due: bool
    reason: str
    baseline: float | None = None  #: mean ratio of the version's first N checks
    recent: float | None = None  #: mean ratio of its latest N checks

    @property
    def rise(self) -> float | None:
        """recent / baseline - 1 (None when not both measured; inf above a zero baseline)."""
        if self.baseline is None or self.recent is None:
            return None
        if self.baseline <= 0:
            return math.inf if self.recent > 0 else 0.0
        return self.recent / self.baseline - 1.0


def early_retrain(
    checks: Sequence[RatioCheck], now: int, last_start: int | None, rule: EarlyRetrainRule
) -> Evidence:
    """Whether to start a run at GPS ``now`` (end of the newest data second) given the
    production version's ``checks`` (oldest first) and ``last_start``, the GPS at which the
    last run started (the end of its span; None: no run yet)."""
    n = rule.checks
    if last_start is None:
        return Evidence(False, "no training run yet")
    if len(checks) < 2 * n:
        return Evidence(False, f"too few checks: {len(checks)} of {2 * n}")
    baseline = sum(c.ratio for c in checks[:n]) / n
    recent = sum(c.ratio for c in checks[-n:]) / n
    if now - last_start < rule.min_gap:
        reason = f"{now - last_start} s since the last run started, < min_gap {rule.min_gap} s"
        return Evidence(False, reason, baseline, recent)
    if checks[-n].gps <= last_start:
        reason = f"check at GPS {checks[-n].gps} is older than the last run (GPS {last_start})"
        return Evidence(False, reason, baseline, recent)
    if recent > baseline * (1.0 + rule.tolerance):
        reason = f"ratio rose by more than the tolerance {rule.tolerance:.0%}"
        return Evidence(True, reason, baseline, recent)
    return Evidence(False, f"ratio within the tolerance {rule.tolerance:.0%}", baseline, recent)
