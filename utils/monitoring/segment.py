"""Which seconds of cleaned data a promotion check may use (pure: arrays in, verdicts out).

A cleaned second is *usable* for comparing canary and production with raw when every one of
its 16 state-vector slices (:class:`~deepclean.utils.products.StateBit`) says: the input was
analysis-ready (``INPUT_READY``), not tapered or zero-filled around a dropped frame
(``TAPERED`` clear), and both PRODUCTION and CANARY hold a warmed-up subtraction
(``PRODUCTION_VALID``, ``CANARY_VALID``); and its production and canary version channels
are constant. A check over ``[end - length, end)`` runs only when every second is present,
usable and made by the versions being compared, so a ratio never mixes samples of two
canary versions or of a missing second; otherwise it is skipped with a :class:`SkipReason`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

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
    """Whether ``[start, end)`` may be used; ``reason`` and ``count`` say why not."""

    start: int
    end: int
    reason: SkipReason | None = None
    count: int = 0  #: seconds with that problem

    @property
    def usable(self) -> bool:
        return self.reason is None

    def describe(self) -> str:
        if self.reason is None:
            return f"GPS {self.start}-{self.end} usable"
        return f"GPS {self.start}-{self.end}: {self.count} s {self.reason.value}"


def check_segment(
    seconds: Mapping[int, SecondSummary | None], end: int, length: int, production: int, canary: int
) -> SegmentCheck:
    """May ``[end - length, end)`` be used to compare ``canary`` and ``production`` with raw?

    ``seconds`` maps GPS to its summary, or to None for a second whose frame was unreadable;
    an absent GPS is a missing second. The first problem in :class:`SkipReason` order wins.
    """
    start = end - length
    counts: dict[SkipReason, int] = {}
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
    for reason in SkipReason:
        if reason in counts:
            return SegmentCheck(start, end, reason, counts[reason])
    return SegmentCheck(start, end)
