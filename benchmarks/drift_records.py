"""What an accelerated drift run (``bench_drift.py``) left on disk, read back as plain records.

A run's work directory holds ``scenario.json`` (written by ``bench_drift.py`` at the start),
``collected.json`` (the monitor's ratios and decisions polled during the run, and the
progress samples: wall-clock GPS, newest raw and cleaned frame) and the pipeline's project
directory: ``monitor/state.json`` (ratios, the last decisions), ``audit.jsonl`` (exports,
promotions, rejections, rollbacks: who, which version, the evidence), ``train/<start>-<end>/``
(each training run's ``metadata.json``). Times are data GPS seconds unless named ``wall``;
the audit log's ``gps`` is the wall clock's, mapped to data GPS through the progress samples.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SCENARIO_FILE = "scenario.json"
COLLECTED_FILE = "collected.json"
TRUTH_FILE = "truth.json"
HOUR_S = 3600.0
#: the trainer's line when the monitor's evidence starts a run early (services/trainer/evidence.py)
EARLY = re.compile(r"retraining early at GPS (\d+)")


def load_json(path: Path, default: Any) -> Any:
    """The JSON document at ``path``, ``default`` when the file does not exist."""
    return json.loads(path.read_text()) if path.is_file() else default


def merge(*lists: list[dict], key=("gps",)) -> list[dict]:
    """The records of ``lists`` without repeats (same values of ``key``), sorted by them."""
    merged = {tuple(r[k] for k in key): r for records in lists for r in records}
    return [merged[k] for k in sorted(merged)]


@dataclass
class Records:
    """One drift run's records; see the module docstring."""

    scenario: dict[str, Any]
    ratios: list[dict] = field(default_factory=list)  #: monitor RatioPoints (in-band / raw)
    decisions: list[dict] = field(default_factory=list)  #: monitor decisions, every verdict
    events: list[dict] = field(default_factory=list)  #: audit log entries
    runs: list[dict] = field(default_factory=list)  #: training runs: start, end, metadata
    progress: list[dict] = field(default_factory=list)  #: wall_gps, raw, cleaned samples
    truth: list[dict] = field(default_factory=list)  #: per archive file: ratios to background
    early: set[int] = field(default_factory=set)  #: end GPS of the runs started early

    @property
    def origin(self) -> float:
        """Data GPS of the live start (hour 0 of the plots)."""
        return float(self.scenario["live_start"])

    @property
    def step_gps(self) -> float | None:
        return self.scenario.get("step_gps")

    def hours(self, gps: float) -> float:
        """Simulated hours since the live start at data GPS ``gps``."""
        return (gps - self.origin) / HOUR_S

    def data_gps(self, wall_gps: float) -> float:
        """Data GPS being written at wall-clock GPS ``wall_gps`` (progress samples, linear)."""
        if not self.progress:
            raise ValueError("no progress samples: cannot map wall time to data time")
        wall = np.array([p["wall_gps"] for p in self.progress])
        raw = np.array([p["raw"] for p in self.progress], dtype=float)
        if len(wall) == 1:
            return float(raw[0] + (wall_gps - wall[0]) * self.scenario["speed"])
        return float(np.interp(wall_gps, wall, raw))

    def of(self, action: str) -> list[dict]:
        """Audit entries of ``action`` (export, promote, reject, rollback), in order."""
        return [e for e in self.events if e.get("action") == action]


def read_runs(train_dir: Path) -> list[dict]:
    """Each finished training run in ``train_dir``: start, end (GPS), wall seconds of training,
    validation figures (``metadata.json``)."""
    runs = []
    for path in sorted(Path(train_dir).glob("[0-9]*-[0-9]*")):
        meta = load_json(path / "metadata.json", None)
        if not path.is_dir() or meta is None:
            continue
        start, end = (int(x) for x in path.name.split("-"))
        training, validation = meta.get("training", {}), meta.get("validation", {})
        runs.append(
            {
                "start": start,
                "end": end,
                "wall_seconds": training.get("wall_seconds"),
                "init": training.get("init_weights"),
                "valid_ratio": validation.get("in_band_ratio"),
                "valid_background_ratio": validation.get("background_ratio"),
            }
        )
    return runs


def read_early(logs: Path) -> set[int]:
    """End GPS of the training runs the trainer started early (its log files in ``logs``)."""
    found: set[int] = set()
    for path in Path(logs).glob("trainer.log*"):
        found.update(int(m[1]) for m in EARLY.finditer(path.read_text(errors="replace")))
    return found


def read_records(workdir: Path) -> Records:
    """The records of the drift run in ``workdir``."""
    workdir = Path(workdir)
    project = workdir / "project"
    state = load_json(project / "monitor" / "state.json", {})
    collected = load_json(workdir / COLLECTED_FILE, {})
    audit = project / "audit.jsonl"
    events = (
        [json.loads(x) for x in audit.read_text().splitlines() if x.strip()]
        if audit.is_file()
        else []
    )
    return Records(
        scenario=load_json(workdir / SCENARIO_FILE, {}),
        ratios=merge(collected.get("ratios", []), state.get("ratios", [])),
        decisions=merge(
            collected.get("decisions", []), state.get("decisions", []), key=("gps", "canary")
        ),
        events=events,
        runs=read_runs(project / "train"),
        progress=collected.get("progress", []),
        truth=load_json(workdir / TRUTH_FILE, []),
        early=read_early(project / "logs"),
    )
