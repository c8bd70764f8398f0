"""Accelerated drift run: the whole pipeline on a detector whose coupling drifts and steps.

Starts ``deepclean up`` (the demo detector, every service) in a work directory of its own on
free ports (:mod:`deepclean.services.up.sandbox`), the simulator at ``--speed`` times real time
(``up --demo-speed``) with slowly drifting coupling weights, a shifting mains frequency and one
step (``--step-witness``'s coupling × ``--step-factor`` and ``--sideband-witness`` starting to
couple, ``--step-hours`` after the live start); the trainer, monitor and cleaner count in data
seconds, so they follow. Every ``--poll`` s it samples the newest raw and cleaned frames and the
load, and keeps the monitor's ratios and decisions (``collected.json``). After ``--hours``
simulated hours it stops everything (Ctrl-C to ``up``), measures each archive file against the
simulator's truth (``truth.json``, :mod:`drift_truth`) and writes ``<out>/<name>.md`` with its
figures (:mod:`drift_report`). ``--report-only`` redoes the last two steps from a work directory.

    nice -n 10 .venv/bin/python benchmarks/bench_drift.py --name drift-6h --hours 6 --speed 6
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from drift_records import COLLECTED_FILE, SCENARIO_FILE, TRUTH_FILE, load_json, merge, read_records  # noqa: E402

IFO = "H1"
LIVE = re.compile(r"live from GPS (\d+)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--name", default="drift", help="report name: <out>/<name>.md")
    p.add_argument("--out", type=Path, default=Path("docs/drift"), help="report folder")
    p.add_argument("--workdir", type=Path, help="default: /tmp/deepclean-drift/<name>")
    p.add_argument("--hours", type=float, default=6.0, help="simulated hours after the live start")
    p.add_argument("--speed", type=float, default=6.0, help="simulated seconds per wall second")
    p.add_argument(
        "--step-hours", type=float, default=3.0, help="the step, hours after the live start"
    )
    p.add_argument("--step-witness", default="ASC-CHARD_P_OUT_DQ")
    p.add_argument("--step-factor", type=float, default=2.0)
    p.add_argument("--sideband-witness", default="ASC-MICH_P_OUT_DQ")
    p.add_argument("--sideband-weight", type=float, default=0.5)
    p.add_argument("--drift-depth", type=float, default=0.5)
    p.add_argument("--drift-period", type=float, default=6 * 3600.0, help="s")
    p.add_argument("--line-shift", type=float, default=0.05, help="Hz")
    p.add_argument("--train-duration", type=int, default=2048, help="s of data per training run")
    p.add_argument("--retrain-cadence", type=int, default=2048, help="s of data between runs")
    p.add_argument("--max-train-seconds", type=float, default=180.0, help="optimisation budget, s")
    p.add_argument("--passes", type=int, default=3, help="passing checks that promote")
    p.add_argument("--tolerance", type=float, default=0.1, help="recovered: within this of before")
    p.add_argument("--truth-every", type=int, default=1, help="every n-th archive file vs truth")
    p.add_argument(
        "--max-wall-minutes",
        type=float,
        help="stop after this many wall minutes even if --hours are not simulated yet",
    )
    p.add_argument("--poll", type=float, default=10.0, help="wall s between samples")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="VAR=VALUE",
        help="one more DEEPCLEAN_* variable for the pipeline (repeatable)",
    )
    p.add_argument("--report-only", action="store_true", help="only the truth and the report")
    return p.parse_args(argv)


def pipeline_settings(a: argparse.Namespace, step_gps: int) -> dict[str, str]:
    """The environment that makes ``up`` run the scenario."""
    settings = {
        "DEEPCLEAN_UP_DEMO_SPEED": f"{a.speed:g}",
        "DEEPCLEAN_UP_DEMO_PASSES": str(a.passes),
        "DEEPCLEAN_SIMULATE_DRIFT_DEPTH": f"{a.drift_depth:g}",
        "DEEPCLEAN_SIMULATE_DRIFT_PERIOD": f"{a.drift_period:g}",
        "DEEPCLEAN_SIMULATE_LINE_SHIFT": f"{a.line_shift:g}",
        "DEEPCLEAN_SIMULATE_STEP_GPS": str(step_gps),
        "DEEPCLEAN_SIMULATE_STEP_WITNESS": a.step_witness,
        "DEEPCLEAN_SIMULATE_STEP_FACTOR": f"{a.step_factor:g}",
        "DEEPCLEAN_SIMULATE_SIDEBAND_WITNESS": a.sideband_witness,
        "DEEPCLEAN_SIMULATE_SIDEBAND_WEIGHT": f"{a.sideband_weight:g}",
        "DEEPCLEAN_TRAINER_TRAIN_DURATION": str(a.train_duration),
        "DEEPCLEAN_TRAINER_RETRAIN_CADENCE": str(a.retrain_cadence),
        "DEEPCLEAN_TRAINER_MAX_TRAIN_SECONDS": f"{a.max_train_seconds:g}",
        # keep every ratio and range of the run (the status page's history)
        "DEEPCLEAN_MONITOR_PLOT_HISTORY": f"{a.hours * 3600 + 86400:g}",
    }
    for item in a.set:
        name, _, value = item.partition("=")
        settings[name] = value
    return settings


def _newest(directory: Path) -> int | None:
    from deepclean.utils.frames.naming import FrameName

    gps = (
        [FrameName.parse(e.name).gps for e in os.scandir(directory) if e.name.endswith(".gwf")]
        if directory.is_dir()
        else []
    )
    return max(gps, default=None)


class Collector:
    """Samples the run every poll: newest raw and cleaned frame, load; keeps the monitor's
    ratios and decisions (its state file keeps only the last 200 decisions)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.path = workdir / COLLECTED_FILE
        self.data = load_json(self.path, {"ratios": [], "decisions": [], "progress": []})

    def sample(self) -> int | None:
        from deepclean.services.monitor.served import unix_to_gps
        from deepclean.utils.files import atomic_write_text

        project = self.workdir / "project"
        raw = _newest(self.workdir / "data" / "kafka" / IFO)
        cleaned = _newest(project / "cleaned" / IFO)
        if raw is not None:
            self.data["progress"].append(
                {
                    "wall_gps": unix_to_gps(time.time()),
                    "raw": raw,
                    "cleaned": cleaned,
                    "load": os.getloadavg()[0],
                }
            )
        try:
            state = load_json(project / "monitor" / "state.json", {})
        except ValueError:  # replaced while read: the next sample has it
            state = {}
        self.data["ratios"] = merge(self.data["ratios"], state.get("ratios", []))
        self.data["decisions"] = merge(
            self.data["decisions"], state.get("decisions", []), key=("gps", "canary")
        )
        atomic_write_text(self.path, json.dumps(self.data))
        return raw


def _live_start(workdir: Path, up, timeout: float = 300.0) -> int:
    """The live start GPS ``up`` printed (its banner in ``up.out``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and up.poll() is None:
        match = LIVE.search((workdir / "up.out").read_text(errors="replace"))
        if match:
            return int(match[1])
        time.sleep(1)
    raise RuntimeError(f"deepclean up printed no live start; see {workdir}/up.out")


def run_pipeline(a: argparse.Namespace, workdir: Path) -> None:
    """Start ``up`` on the scenario, sample until ``hours`` are simulated, stop it."""
    from deepclean.services.up.sandbox import free_ports, sandbox_env, start_up, stop_up
    from deepclean.utils.frames.crawler import gps_now

    step_gps = gps_now() + int(a.step_hours * 3600)
    settings = pipeline_settings(a, step_gps)
    env = {**sandbox_env(workdir, free_ports(), prometheus=False), **settings}
    paths = ["--data-dir", str(workdir / "data"), "--project-dir", str(workdir / "project")]
    up = start_up(workdir, env, *paths, "--ifo", IFO)
    collector, begun = Collector(workdir), time.monotonic()
    try:
        live = _live_start(workdir, up)
        scenario = {
            "name": a.name,
            "speed": a.speed,
            "hours": a.hours,
            "live_start": live,
            "step_gps": step_gps,
            "started_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "settings": settings,
            "command": shlex.join(["benchmarks/bench_drift.py", *sys.argv[1:]]),
        }
        (workdir / SCENARIO_FILE).write_text(json.dumps(scenario, indent=1))
        print(
            f"drift: live from GPS {live}, step at {step_gps}; until {live + a.hours * 3600:.0f}",
            flush=True,
        )
        while up.poll() is None:
            raw = collector.sample()
            if raw is not None and raw >= live + a.hours * 3600:
                break
            if a.max_wall_minutes and time.monotonic() - begun > 60 * a.max_wall_minutes:
                print(f"drift: {a.max_wall_minutes:g} wall minutes are up", flush=True)
                break
            if raw is not None:
                print(f"drift: {(raw - live) / 3600:.2f} simulated h", flush=True)
            time.sleep(a.poll)
        else:
            print(
                f"drift: deepclean up exited with {up.returncode}; see {workdir}/up.out", flush=True
            )
    finally:
        print(f"drift: stopped (up exit status {stop_up(up)})", flush=True)
        collector.sample()


def report(a: argparse.Namespace, workdir: Path) -> Path:
    """The truth per archive file, then the report."""
    from drift_report import write_report
    from drift_truth import run_truth

    from deepclean.utils.files import atomic_write_text

    rec = read_records(workdir)
    bands = [tuple(b) for b in _bands(workdir)]
    if bands:
        started = time.monotonic()
        truth = run_truth(workdir / "project", workdir / "data", IFO, bands, every=a.truth_every)
        atomic_write_text(workdir / TRUTH_FILE, json.dumps(truth))
        took = time.monotonic() - started
        print(f"drift: {len(truth)} archive files against the truth in {took:.0f} s")
        rec = read_records(workdir)
    path = write_report(rec, a.out / f"{a.name}.md", tolerance=a.tolerance)
    print(path.read_text())
    return path


def _bands(workdir: Path) -> list:
    """The cleaning bands of the newest training run (its metadata)."""
    runs = sorted((workdir / "project" / "train").glob("[0-9]*-[0-9]*/metadata.json"))
    return load_json(runs[-1], {}).get("bands", []) if runs else []


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    # SIGINT and SIGTERM stop the pipeline and keep what it wrote (a background job starts with
    # SIGINT ignored, so the handler is set here)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = (a.workdir or Path("/tmp/deepclean-drift") / a.name).resolve()
    if not a.report_only:
        if (workdir / SCENARIO_FILE).exists():
            sys.exit(f"{workdir} holds a run already; give another --workdir or --report-only")
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            run_pipeline(a, workdir)
        except KeyboardInterrupt as exc:
            print(f"drift: interrupted ({exc}); the report covers what was done", flush=True)
    report(a, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
