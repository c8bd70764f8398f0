"""The markdown report of a drift run, its figures beside it (``<name>-ratios.png``,
``<name>-truth.png``): scenario, result (recovery after the step, in retraining cycles), the
versions, whether the services kept up, how it was made."""

from __future__ import annotations

import statistics
from pathlib import Path

from drift_analysis import (
    EDGE_CHECKS,
    Recovery,
    VersionRow,
    monitor_points,
    recovery,
    truth_points,
    version_rows,
)
from drift_plots import ratios_png, truth_png
from drift_records import Records


def _num(value: float | None, fmt: str = ".3f") -> str:
    return "–" if value is None else format(value, fmt)


def _hours(rec: Records, gps: float | None) -> str:
    return "–" if gps is None else f"{rec.hours(gps):.2f}"


def _recovery_line(rec: Records, what: str, found: Recovery | None) -> str:
    if found is None:
        return f"- {what}: not measurable (no step, or no checks on both sides of it)"
    head = (
        f"- {what}: {_num(found.level)} over the 30 min before the step, worst "
        f"{_num(found.peak)} after it; "
    )
    if found.gps is None:
        return head + f"**not back** within {found.tolerance:.0%} of it by the end of the run"
    return head + (
        f"back within {found.tolerance:.0%} (≤ {_num(found.level * (1 + found.tolerance))}) "
        f"**after {found.cycles} retraining cycle(s)**, "
        f"{found.minutes(rec.step_gps):.0f} simulated minutes after the step (version "
        f"{found.version} in production, {_hours(rec, found.gps)} h)"
    )


def _across_step(rec: Records, rows: list[VersionRow]) -> str:
    across = [r for r in rows if r.spans(rec.step_gps)]
    if not across:
        return "- no canary was trained on data spanning the step"
    fates = []
    for r in across:
        fate = (
            f"promoted at {_hours(rec, r.promoted)} h"
            if r.promoted is not None
            else f"**rejected** at {_hours(rec, r.rejected)} h"
            if r.rejected is not None
            else "neither promoted nor rejected (replaced by a newer canary or the run ended)"
        )
        fates.append(
            f"version {r.version} (data {_hours(rec, r.start)}–{_hours(rec, r.end)} h): {fate}"
        )
    return "- canaries trained on data spanning the step: " + "; ".join(fates)


def _result(rec: Records, rows: list[VersionRow], tolerance: float) -> list[str]:
    verdicts = [d["verdict"] for d in rec.decisions]
    counts = ", ".join(f"{verdicts.count(v)} {v}" for v in sorted(set(verdicts)))
    lines = [
        f"- {len(rec.ratios)} usable monitor checks ({counts}), "
        f"{len(rec.runs)} training runs ({len(rec.early)} started early on the monitor's "
        f"evidence), {len(rec.of('export'))} exports, "
        f"{len(rec.of('promote'))} promotions, {len(rec.of('reject'))} rejections, "
        f"{len(rec.of('rollback'))} rollbacks",
        _recovery_line(
            rec,
            "production/raw in band (monitor)",
            recovery(rec, monitor_points(rec), tolerance=tolerance),
        ),
    ]
    if rec.truth:
        lines.append(
            _recovery_line(
                rec,
                "production/background, mean of the bands (truth)",
                recovery(rec, truth_points(rec), tolerance=tolerance, settle=2),
            )
        )
    return lines + [_degradation(rows), _across_step(rec, rows)]


def _degradation(rows: list[VersionRow]) -> str:
    """How each version that served long enough changed between its first and last checks."""
    served = [r for r in rows if r.checks >= 2 * EDGE_CHECKS]
    if not served:
        return "- no version served long enough to see it degrade"
    changes = [
        f"v{r.version} {_num(r.first_ratio)} → {_num(r.last_ratio)} "
        f"({r.last_ratio / r.first_ratio - 1:+.0%})"
        for r in served
    ]
    return (
        "- production/raw between a version's first and last checks in production (median of "
        f"{EDGE_CHECKS} each): " + ", ".join(changes)
    )


def _versions_table(rec: Records, rows: list[VersionRow]) -> list[str]:
    early = " (E: started early)" if rec.early else ""
    lines = [
        f"| version | training data (h){early} | training wall s | validation ratio | "
        "exported (h) | promoted (h) | rejected (h) | production/raw first → last (checks) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        data = "–" if r.start is None else f"{_hours(rec, r.start)}–{_hours(rec, r.end)}"
        data += " E" if r.early else ""
        tenure = f"{_num(r.first_ratio)} → {_num(r.last_ratio)} ({r.checks})" if r.checks else "–"
        lines.append(
            f"| {r.version} | {data} | {_num(r.train_s, '.0f')} | {_num(r.valid_ratio)} | "
            f"{_hours(rec, r.exported)} | {_hours(rec, r.promoted)} | {_hours(rec, r.rejected)} "
            f"| {tenure} |"
        )
    return lines


def _keeping_up(rec: Records) -> list[str]:
    speed = rec.scenario.get("speed", 1.0)
    lags = [p["raw"] - p["cleaned"] for p in rec.progress if p.get("cleaned") is not None]
    loads = [p["load"] for p in rec.progress if p.get("load") is not None]
    train = [r["wall_seconds"] for r in rec.runs if r.get("wall_seconds") is not None]
    cadence = rec.scenario.get("settings", {}).get("DEEPCLEAN_TRAINER_RETRAIN_CADENCE")
    behind = [r.exported - r.end for r in version_rows(rec) if r.end is not None]
    lines = []
    if behind:
        lines.append(
            f"- from the end of a run's data to its export: median "
            f"{statistics.median(behind):.0f} s of data, max {max(behind):.0f} s "
            f"({statistics.median(behind) / speed:.0f} and {max(behind) / speed:.0f} wall s)"
        )
    if lags:
        lines.append(
            f"- cleaner behind the newest raw frame: median {statistics.median(lags):.0f} s of "
            f"data, max {max(lags):.0f} s ({max(lags) / speed:.0f} wall s at speed {speed:g}), "
            f"over {len(lags)} samples"
        )
    if train:
        budget = f"; the cadence is {float(cadence) / speed:.0f} wall s" if cadence else ""
        lines.append(
            f"- training wall time (optimisation): median {statistics.median(train):.0f} s, "
            f"max {max(train):.0f} s{budget}"
        )
    if loads:
        lines.append(
            f"- 1-min load average during the run: median {statistics.median(loads):.1f}, "
            f"max {max(loads):.1f} (2 cores)"
        )
    return lines or ["- no progress samples"]


def _simulated(rec: Records) -> str:
    """How many hours were simulated (of how many planned), wall minutes it took."""
    planned = f"{rec.scenario.get('hours', 0):g} simulated hours"
    if len(rec.progress) < 2:
        return planned
    first, last = rec.progress[0], rec.progress[-1]
    wall = (last["wall_gps"] - first["wall_gps"]) / 60
    return (
        f"{rec.hours(last['raw']):.2f} simulated hours ({planned} planned) in {wall:.0f} wall "
        f"minutes (sampled)"
    )


def write_report(rec: Records, path: Path, *, tolerance: float = 0.1, command: str = "") -> Path:
    """Write the report of ``rec`` to ``path`` (markdown) and its figures beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = version_rows(rec)
    figures = [f"![ratios]({path.stem}-ratios.png)"]
    ratios_png(rec, rows, path.with_name(f"{path.stem}-ratios.png"))
    if rec.truth:
        truth_png(rec, rows, path.with_name(f"{path.stem}-truth.png"))
        figures.append(f"![truth per band]({path.stem}-truth.png)")
    s = rec.scenario
    settings = s.get("settings", {})
    lines = [
        f"# Drift run: {s.get('name', path.stem)}",
        "",
        f"{_simulated(rec)} at speed {s.get('speed', 1):g} "
        f"(started {s.get('started_utc', '?')}), the step at "
        f"{_hours(rec, rec.step_gps)} h. {s.get('note', '')}".rstrip(),
        "",
        "## Result",
        "",
        *_result(rec, rows, tolerance),
        "",
        *figures,
        "",
        "## Versions",
        "",
        *_versions_table(rec, rows),
        "",
        "## Keeping up",
        "",
        *_keeping_up(rec),
        "",
        "## Scenario",
        "",
        "| setting | value |",
        "| --- | --- |",
        *[f"| `{k}` | {v} |" for k, v in sorted(settings.items())],
        "",
        "## How it was made",
        "",
        f"    {command or s.get('command', '')}",
        "",
    ]
    path.write_text("\n".join(lines))
    return path
