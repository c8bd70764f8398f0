"""Figures of a drift run from its records (:mod:`drift_records`): each version's history and the
recovery after the step. Pure: records in, numbers out.

Ratios are in-band ASD ratios: the monitor's are production (or canary, OUT_DQ) over raw strain
on the same segment, so 1 = nothing removed; the truth's (``truth.json``) are over the
simulator's background-only strain, so 1 = perfect cleaning.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from drift_records import Records

#: checks of a version as production whose median gives its "first" and "last" ratio
EDGE_CHECKS = 3


@dataclass(frozen=True)
class VersionRow:
    """One exported version: its training data, when it was exported/promoted/rejected (data
    GPS) and the production/raw ratio of its first and last checks as production."""

    version: int
    start: int | None = None
    end: int | None = None
    train_s: float | None = None
    valid_ratio: float | None = None
    exported: float | None = None
    promoted: float | None = None
    rejected: float | None = None
    first_ratio: float | None = None
    last_ratio: float | None = None
    checks: int = 0  #: usable checks with this version in production
    early: bool = False  #: trained in a run the monitor's evidence started early

    def spans(self, gps: float | None) -> bool:
        """Whether its training data straddles data GPS ``gps``."""
        return gps is not None and self.start is not None and self.start < gps < self.end


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def version_rows(rec: Records) -> list[VersionRow]:
    """A row per version the exporter exported (audit ``export``), in order."""
    runs = {(r["start"], r["end"]): r for r in rec.runs}
    promoted = {e["versions"]["to"]: e["evidence"]["gps"] for e in rec.of("promote")}
    rejected = {e["versions"]["version"]: e["evidence"]["gps"] for e in rec.of("reject")}
    rows = []
    for event in rec.of("export"):
        version, evidence = event["versions"]["version"], event.get("evidence", {})
        start, end = evidence.get("start"), evidence.get("end")
        as_production = [r["production_ratio"] for r in rec.ratios if r["production"] == version]
        rows.append(
            VersionRow(
                version=version,
                start=start,
                end=end,
                train_s=runs.get((start, end), {}).get("wall_seconds"),
                valid_ratio=evidence.get("in_band_ratio"),
                exported=rec.data_gps(event["gps"]),
                promoted=promoted.get(version),
                rejected=rejected.get(version),
                first_ratio=_median(as_production[:EDGE_CHECKS]),
                last_ratio=_median(as_production[-EDGE_CHECKS:]),
                checks=len(as_production),
                early=end in rec.early,
            )
        )
    return rows


@dataclass(frozen=True)
class Recovery:
    """How production's ratio came back after the step."""

    level: float  #: median production ratio over ``before_s`` before the step
    peak: float  #: worst production ratio after the step
    tolerance: float  #: recovered = within level * (1 + tolerance)
    gps: float | None = None  #: first check of the recovered stretch (None: never)
    version: int | None = None  #: production version then
    cycles: int | None = None  #: training runs ending after the step, up to that version's

    def minutes(self, step_gps: float) -> float | None:
        return None if self.gps is None else (self.gps - step_gps) / 60.0


def recovery(
    rec: Records,
    points: list[tuple[float, float, int]],
    *,
    tolerance: float = 0.1,
    before_s: float = 1800.0,
    settle: int = 3,
) -> Recovery | None:
    """Recovery after the step of the series ``points`` ((GPS, production ratio, production
    version), in order): the first check from which ``settle`` checks in a row are within
    ``tolerance`` of the median level over the ``before_s`` seconds before the step. None
    without a step or without checks on both sides of it."""
    step = rec.step_gps
    if step is None:
        return None
    before = [v for g, v, _ in points if step - before_s <= g < step]
    after = [(g, v, p) for g, v, p in points if g >= step]
    if not before or not after:
        return None
    level = statistics.median(before)
    found = Recovery(level, max(v for _, v, _ in after), tolerance)
    limit = level * (1 + tolerance)
    for i in range(len(after) - settle + 1):
        if all(v <= limit for _, v, _ in after[i : i + settle]):
            gps, _, version = after[i]
            return Recovery(found.level, found.peak, tolerance, gps, version, _cycles(rec, version))
    return found


def _cycles(rec: Records, version: int) -> int:
    """Training runs that ended after the step, up to the one that made ``version`` (0: a
    version trained before the step)."""
    ends = {e["versions"]["version"]: e["evidence"].get("end") for e in rec.of("export")}
    made = ends.get(version)
    if made is None or made <= rec.step_gps:
        return 0
    return sum(1 for r in rec.runs if rec.step_gps < r["end"] <= made)


def monitor_points(rec: Records) -> list[tuple[float, float, int]]:
    """The monitor's production/raw ratio per usable check: (GPS, ratio, production)."""
    return [(r["gps"], r["production_ratio"], r["production"]) for r in rec.ratios]


def truth_points(rec: Records) -> list[tuple[float, float, int]]:
    """Production over the background, the mean of every band's ratio, per archive span."""
    return [
        (t["gps"], statistics.fmean(t["production"].values()), t["production_version"])
        for t in rec.truth
    ]
