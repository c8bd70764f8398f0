"""The soak's report: markdown with its figures, every fault marked (``docs/soak/``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from deepclean.services.soak.alerts import alert_lines, table
from deepclean.services.soak.faults import Event
from deepclean.services.soak.models import SEGMENT_S, VersionRatio
from deepclean.services.soak.plots import latency_png, ratios_png
from deepclean.services.soak.verify import Verification

if TYPE_CHECKING:
    from deepclean.services.soak.run import Soak


@dataclass
class Outcome:
    """What the soak found: the checks from disk, the faults, and the services at the end."""

    verification: Verification
    ratios: list[VersionRatio]  #: measured ratio of each version that cleaned OUT_DQ
    events: list[Event]
    restarts: list[str]  #: up.log's exit and restart lines
    alive: dict[str, bool]  #: which services answered at the end
    status: int  #: up's exit status (130: stopped by Ctrl-C as asked)

    @property
    def passed(self) -> bool:
        return bool(
            self.verification.ok
            and all(r.ok for r in self.ratios)
            and self.alive
            and all(self.alive.values())
            and all(e.ok for e in self.events)
            and self.status == 130
        )


def _monitor_history(project: Path) -> tuple[list[dict], list[dict]]:
    """The monitor's ratio history (``monitor/state.json``) and the audit trail, as saved."""
    try:
        ratios = json.loads((project / "monitor" / "state.json").read_text())["ratios"]
    except (OSError, ValueError, KeyError):
        ratios = []
    audit = []
    try:
        for line in (project / "audit.jsonl").read_text().splitlines():
            try:
                audit.append(json.loads(line))
            except ValueError:
                continue
    except OSError:
        pass
    return ratios, audit


def _figures(path: Path, outcome: Outcome, soak: Soak) -> list[str]:
    """Write the figures beside ``path``; their markdown lines."""
    latency = soak.watch.latency
    t0 = min(latency) if latency else 0.0
    png = path.with_name(path.stem + "-latency.png")
    latency_png(png, latency, outcome.events, t0)
    lines = [f"![latency]({png.name})", ""]
    ratios, audit = _monitor_history(soak.project)
    if ratios:
        png = path.with_name(path.stem + "-ratios.png")
        ratios_png(png, ratios, audit, soak.watch.restarts, outcome.events, t0)
        lines += [f"![in-band ratios, promotions, restarts]({png.name})", ""]
    return lines


def _verification_lines(outcome: Outcome, latency: dict[int, float]) -> list[str]:
    v = outcome.verification
    values = np.array(list(latency.values())) if latency else np.array([np.nan])
    versions = [
        [str(r.version), str(r.cleaned_seconds), str(r.stretches)]
        + ["-" if r.ratio is None else f"{r.ratio:.3f}", "ok" if r.ok else "ABOVE 1"]
        for r in outcome.ratios
    ]
    return [
        "## Verification",
        "",
        f"**{'PASS' if outcome.passed else 'FAIL'}** — " + v.summary(),
        "",
        f"- lost: {v.lost[:20]}",
        f"- not writable while the disk was full (excused): {v.unwritable[:80]}",
        f"- written twice: {v.rewritten[:20]}",
        f"- carousel/archive mismatches: {v.mismatched[:20]}",
        f"- NaN in OUT_DQ: {v.nan[:20]}",
        f"- services running at the end: {outcome.alive}",
        f"- latency: median {np.nanmedian(values):.2f} s, 99th percentile "
        f"{np.nanpercentile(values, 99):.2f} s, max {np.nanmax(values):.2f} s "
        f"over {len(latency)} cleaned seconds",
        "",
        "OUT_DQ cleaned by each production version, its in-band ASD ratio OUT_DQ/raw measured "
        f"from the cleaned frames over {SEGMENT_S} s stretches (services/soak/models.py; a "
        "version above 1 fails the soak):",
        "",
        *(
            table(["version", "cleaned seconds", "stretches", "ratio", ""], versions)
            if versions
            else ["(none: OUT_DQ was the raw strain throughout, no trained model promoted)"]
        ),
        "",
    ]


def _fault_lines(outcome: Outcome) -> list[str]:
    rows = [
        ["-" if e.done is None else f"{e.done:.0f}", e.fault.value, e.detail]
        + ["-" if e.recovered is None else f"{e.recovered:.1f}"]
        + ["skipped" if e.skipped else "ok" if e.ok else "FAILED"]
        for e in outcome.events
    ]
    return [
        "## Faults",
        "",
        *table(["at (s)", "fault", "what", "back after (s)", "outcome"], rows),
        "",
        "## Restarts (up.log)",
        "",
        "```",
        *outcome.restarts,
        "```",
        "",
    ]


def write_report(
    path: Path, title: str, settings: dict[str, object], outcome: Outcome, soak: Soak
) -> Path:
    """Write ``path`` (markdown) and its figures (``<stem>-latency.png``, ``-ratios.png``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# {title}",
        "",
        "Written by `deepclean soak` (services/soak/); the verification reads the files on disk.",
        "",
        "## Settings",
        "",
        *[f"- {k}: {v}" for k, v in settings.items()],
        *[f"- {k}: {v:.0f} s after start" for k, v in soak.marks.items()],
        "",
        *_verification_lines(outcome, soak.watch.latency),
        *_figures(path, outcome, soak),
        *_fault_lines(outcome),
    ]
    if soak.watch.polled_until is not None:
        w = soak.watch
        lines += alert_lines(w.alerts, outcome.events, w.polled_until, w.alert_source)
    path.write_text("\n".join(lines) + "\n")
    return path
