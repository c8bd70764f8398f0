"""Which seconds of cleaned data a promotion check may use (pure: arrays in, verdicts out).

A cleaned second is *usable* for comparing canary and production with raw when every one of
its 16 state-vector slices (:class:`~deepclean.utils.products.StateBit`) says: the input was
analysis-ready (``INPUT_READY``), not tapered or zero-filled around a dropped frame
(``TAPERED`` clear), and both PRODUCTION and CANARY hold a warmed-up subtraction
(``PRODUCTION_VALID``, ``CANARY_VALID``); and its production and canary version channels
are constant. A check over ``[end - length, end)`` uses the seconds that are present, usable
and made by the versions being compared, as contiguous runs (the ASD is averaged over the
runs, no FFT across a gap), so a ratio never mixes samples of two canary versions or of a
missing second. It runs when those seconds, in runs of at least ``min_run`` seconds (one
FFT), cover at least ``min_coverage`` of the window; otherwise it is skipped with the most
important :class:`SkipReason`. With ``min_coverage = 1`` every second must be usable.

Why a coverage and not a perfect window: real frame streams lose frames. A dropped frame
leaves its second missing and ~5 neighbours unusable (tapered, or PRODUCTION and CANARY raw
while the windows hold zero-filled witnesses: docs/operations.md), ~6-7 s per drop with the
runs shorter than an FFT. With 2 % of frames dropped (1.3 drops per 64 s window on average)
72 % of the windows lack a second, and skipping them starved promotion (issue 22: one pass in
15 minutes). The monitor's default ``min_coverage`` 0.6 (38 of 64 s) is missed only with 6 or
more drops in one window (Poisson, mean 1.3: p ~ 0.2 %; 0.75 would miss 14 % of the windows,
at 3 drops); at the limit the ratio rests on ~37 Welch segments instead of 63, a relative
scatter sqrt(63/37) = 1.3x that of a full window (canary/production: ~2.6 % instead of 2 %).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from deepclean.utils.monitoring.spans import runs as contiguous_runs
from deepclean.utils.products import StateBit

REQUIRED_BITS = StateBit.INPUT_READY | StateBit.PRODUCTION_VALID | StateBit.CANARY_VALID


class SkipReason(StrEnum):
    """Why a check was skipped (not counted as a pass or a failure)."""

    MISSING = "missing"
    UNREADABLE = "unreadable"
    TAPERED = "tapered or zero-filled"
    NOT_READY = "not analysis-ready"
    NOT_VALID = "without a warmed-up production or canary"
    MIXED_VERSIONS = "with a version change inside"
    OTHER_VERSIONS = "made by other versions than those compared"


@dataclass(frozen=True)
class SecondSummary:
    """What one cleaned second says about its usability (``problem`` None: usable)."""

    gps: int
    production: int | None  #: production version throughout the second (None: it changed)
    canary: int | None  #: canary version throughout the second (None: it changed)
    problem: SkipReason | None = None


def summarize_second(
    gps: int, state: np.ndarray, production: np.ndarray, canary: np.ndarray
) -> SecondSummary:
    """Summarise one second from its DeepClean state vector and version channels (16 Hz each)."""
    state = np.asarray(state).astype(np.int64)
    production, canary = np.asarray(production), np.asarray(canary)
    prod_version = (
        int(production[0]) if production.size and np.all(production == production[0]) else None
    )
    canary_version = int(canary[0]) if canary.size and np.all(canary == canary[0]) else None
    problem = None
    if prod_version is None or canary_version is None:
        problem = SkipReason.MIXED_VERSIONS
    elif np.any(state & StateBit.TAPERED):
        problem = SkipReason.TAPERED
    elif not np.all(state & StateBit.INPUT_READY):
        problem = SkipReason.NOT_READY
    elif not np.all((state & REQUIRED_BITS) == REQUIRED_BITS):
        problem = SkipReason.NOT_VALID
    return SecondSummary(
        gps=int(gps), production=prod_version, canary=canary_version, problem=problem
    )


@dataclass(frozen=True)
class SegmentCheck:
    """Whether ``[start, end)`` may be used, over which ``runs``; ``reason`` and ``count`` name
    the most important problem of the seconds left out."""

    start: int
    end: int
    reason: SkipReason | None = None
    count: int = 0  #: seconds with that problem
    runs: tuple[tuple[int, int], ...] = ()  #: ``(start, end)`` of the seconds used (end exclusive)
    min_coverage: float = 1.0

    @property
    def used(self) -> int:
        """Seconds the check uses."""
        return sum(b - a for a, b in self.runs)

    @property
    def usable(self) -> bool:
        length = self.end - self.start
        return length > 0 and self.used >= self.min_coverage * length - 1e-9 and bool(self.runs)

    def describe(self) -> str:
        length = self.end - self.start
        problem = "" if self.reason is None else f": {self.count} s {self.reason.value}"
        if self.usable:
            if self.used == length:
                return f"GPS {self.start}-{self.end} usable"
            return (
                f"GPS {self.start}-{self.end} usable over {self.used} s "
                f"in {len(self.runs)} run(s){problem}"
            )
        if self.min_coverage >= 1:
            return f"GPS {self.start}-{self.end}{problem}"
        return (
            f"GPS {self.start}-{self.end} ({self.used} of {length} s usable, "
            f"min_coverage {self.min_coverage:g}){problem}"
        )


def check_segment(
    seconds: Mapping[int, SecondSummary | None],
    end: int,
    length: int,
    production: int,
    canary: int,
    *,
    min_coverage: float = 1.0,
    min_run: int = 1,
) -> SegmentCheck:
    """May ``[end - length, end)`` be used to compare ``canary`` and ``production`` with raw,
    and over which runs of seconds?

    ``seconds`` maps GPS to its summary, or to None for a second whose frame was unreadable;
    an absent GPS is a missing second. Usable seconds in runs shorter than ``min_run`` seconds
    are left out too. The check is usable when the seconds kept are at least ``min_coverage``
    (0-1) of ``length``; the problem reported is the first in :class:`SkipReason` order.
    """
    if not 0 < min_coverage <= 1 or min_run < 1:
        raise ValueError(
            f"min_coverage {min_coverage} must be in (0, 1] and min_run {min_run} at least 1 s"
        )
    start = end - length
    counts: dict[SkipReason, int] = {}
    good = []
    for gps in range(start, end):
        if gps not in seconds:
            reason = SkipReason.MISSING
        elif seconds[gps] is None:
            reason = SkipReason.UNREADABLE
        else:
            summary = seconds[gps]
            reason = summary.problem
            if reason is None and (summary.production, summary.canary) != (production, canary):
                reason = SkipReason.OTHER_VERSIONS
        if reason is not None:
            counts[reason] = counts.get(reason, 0) + 1
        else:
            good.append(gps)
    kept = tuple((a, b) for a, b in contiguous_runs(good) if b - a >= min_run)
    for reason in SkipReason:
        if reason in counts:
            return SegmentCheck(start, end, reason, counts[reason], kept, min_coverage)
    return SegmentCheck(start, end, runs=kept, min_coverage=min_coverage)
