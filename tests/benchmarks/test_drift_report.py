"""The drift report of benchmarks/bench_drift.py, written from synthetic records of a run: the
versions' history, recovery after the step in retraining cycles, the figures."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from drift_analysis import monitor_points, recovery, truth_points, version_rows  # noqa: E402
from drift_records import read_records  # noqa: E402
from drift_report import write_report  # noqa: E402

LIVE = 1_400_000_000
STEP = LIVE + 3 * 3600
SPEED = 6.0
CADENCE = 2048
#: version -> (training span, production/raw ratio while it is production); v5 spans the step
#: and is rejected, v6 is the first trained on data after the step only
VERSIONS = {
    2: ((LIVE - 2048, LIVE), 0.20),
    3: ((LIVE + 2 * 2048, LIVE + 3 * 2048), 0.20),
    4: ((LIVE + 4 * 2048, LIVE + 5 * 2048), 0.21),
    5: ((STEP - 1000, STEP + 1048), 0.60),
    6: ((STEP + 1048, STEP + 3096), 0.215),
}
PROMOTED = {2: LIVE, 3: LIVE + 3 * 2048 + 400, 4: LIVE + 5 * 2048 + 400, 6: STEP + 3500}


def _production(gps: int) -> int:
    return max(v for v, at in PROMOTED.items() if at <= gps)


def _ratio(gps: int) -> float:
    version = _production(gps)
    if version in (3, 4) and gps >= STEP:  # trained before the step: degraded
        return 0.55
    return VERSIONS[version][1]


def _write_run(root: Path) -> None:
    project = root / "project"
    (project / "monitor").mkdir(parents=True)
    checks = range(LIVE + 64, LIVE + 5 * 3600, 64)
    ratios = [
        {
            "gps": g,
            "production": _production(g),
            "canary": _production(g),
            "production_ratio": _ratio(g),
            "canary_ratio": _ratio(g),
            "out_dq_ratio": _ratio(g),
        }
        for g in checks
    ]
    decisions = [{"gps": g, "canary": 6, "verdict": "pass"} for g in checks[-5:]]
    progress = [
        {
            "wall_gps": 1e9 + k * 60,
            "raw": LIVE + SPEED * 60 * k,
            "cleaned": LIVE + SPEED * 60 * k - 3,
        }
        for k in range(60)
    ] + [
        {"wall_gps": 1e9 + 3600 + k, "raw": LIVE + 6 * 3600 + k, "cleaned": None, "load": 3.5}
        for k in range(2)
    ]
    # the monitor's state holds the latest part; the collected file the whole run
    (root / "collected.json").write_text(
        json.dumps({"ratios": ratios[:-10], "decisions": decisions[:2], "progress": progress})
    )
    state = {"ratios": ratios[-20:], "decisions": decisions[1:]}
    (project / "monitor" / "state.json").write_text(json.dumps(state))
    scenario = {
        "name": "synthetic",
        "speed": SPEED,
        "hours": 5,
        "live_start": LIVE,
        "step_gps": STEP,
    }
    scenario["settings"] = {"DEEPCLEAN_TRAINER_RETRAIN_CADENCE": str(CADENCE)}
    (root / "scenario.json").write_text(json.dumps(scenario))
    events = []
    for version, ((start, end), _) in VERSIONS.items():
        # exported 300 s of data after the end of its data: wall time of that data
        wall = 1e9 + (end + 300 - LIVE) / SPEED
        run = project / "train" / f"{start}-{end}"
        run.mkdir(parents=True)
        meta = {"training": {"wall_seconds": 150.0}, "validation": {"in_band_ratio": 0.2}}
        (run / "metadata.json").write_text(json.dumps(meta))
        evidence = {"start": start, "end": end, "in_band_ratio": 0.2}
        events.append(
            {
                "action": "export",
                "gps": wall,
                "versions": {"version": version},
                "evidence": evidence,
            }
        )
        if version in PROMOTED:
            events.append(
                {
                    "action": "promote",
                    "versions": {"from": version - 1, "to": version},
                    "evidence": {"gps": PROMOTED[version]},
                }
            )
    events.append(
        {
            "action": "reject",
            "versions": {"version": 5, "production": 4},
            "evidence": {"gps": STEP + 2500},
        }
    )
    (project / "logs").mkdir()
    # the trainer started version 6's run early (services/trainer/evidence.py's line)
    early = f"retraining early at GPS {STEP + 3096}: production 4's in-band ratio 0.55 over ..."
    (project / "logs" / "trainer.log").write_text(f"2026-12-05T09:00:00Z WARNING {early}\n")
    (project / "audit.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    truth = [
        {
            "gps": g,
            "production_version": _production(g),
            **{
                s: {"58-62 Hz": 5 * _ratio(g), "118-122 Hz": 4 * _ratio(g)}
                for s in ("production", "canary", "out_dq")
            },
            "raw": {"58-62 Hz": 23.0, "118-122 Hz": 8.0},
        }
        for g in range(LIVE + 128, LIVE + 5 * 3600, 128)
    ]
    (root / "truth.json").write_text(json.dumps(truth))


@pytest.fixture
def rec(tmp_path: Path):
    _write_run(tmp_path)
    return read_records(tmp_path)


def test_records_merge_what_was_polled_with_the_monitors_state(rec) -> None:
    gps = [r["gps"] for r in rec.ratios]
    assert gps == sorted(set(gps)) and len(gps) == len(range(LIVE + 64, LIVE + 5 * 3600, 64))
    assert len(rec.decisions) == 5 and len(rec.runs) == 5
    # wall time -> data time through the progress samples (6 s of data per wall second)
    assert rec.data_gps(1e9 + 100.0) == pytest.approx(LIVE + 600.0)


def test_versions_table_says_when_each_was_trained_exported_promoted_or_rejected(rec) -> None:
    rows = {r.version: r for r in version_rows(rec)}
    assert list(rows) == [2, 3, 4, 5, 6]
    assert rows[5].rejected == STEP + 2500 and rows[5].promoted is None and rows[5].spans(STEP)
    assert not rows[6].spans(STEP) and rows[6].promoted == STEP + 3500
    assert rows[6].exported == pytest.approx(STEP + 3096 + 300)
    # version 4 degraded in production after the step: first 0.21, last 0.55
    assert rows[4].first_ratio == pytest.approx(0.21) and rows[4].last_ratio == pytest.approx(0.55)
    assert rows[4].train_s == 150.0


def test_recovery_counts_the_retraining_cycles_after_the_step(rec) -> None:
    found = recovery(rec, monitor_points(rec), tolerance=0.1)
    # the 30 min before the step: version 3 at 0.20 (version 4, 0.21, for the last 160 s); after
    # it 0.55 until version 6 (0.215) is promoted; two runs ended after the step: version 5's
    # (rejected) and version 6's
    assert found.level == pytest.approx(0.20) and found.peak == pytest.approx(0.55)
    assert found.version == 6 and found.cycles == 2
    first = min(g for g in range(LIVE + 64, LIVE + 5 * 3600, 64) if g >= STEP + 3500)
    assert found.gps == first and found.minutes(STEP) == pytest.approx((first - STEP) / 60)
    strict = recovery(rec, monitor_points(rec), tolerance=0.01)
    assert strict.gps is None and strict.cycles is None  # 0.215 > 0.20 * 1.01: never back
    truth = recovery(rec, truth_points(rec), tolerance=0.1, settle=2)
    assert truth.version == 6 and truth.cycles == 2


def test_report_has_the_result_the_versions_and_the_figures(rec, tmp_path: Path) -> None:
    path = write_report(rec, tmp_path / "out" / "synthetic.md", tolerance=0.1, command="bench")
    text = path.read_text()
    expected = [
        "**after 2 retraining cycle(s)**",
        "version 5 (data 2.72–3.29 h): **rejected** at 3.69 h",
        "| 6 | 3.29–3.86 E | 150 | 0.200 | 3.94 | 3.97 | – | 0.215 → 0.215 (",
        "5 training runs (1 started early on the monitor's evidence)",
        "from the end of a run's data to its export: median 300 s of data",
        "cleaner behind the newest raw frame: median 3 s of data",
        "v4 0.210 → 0.550 (+162%)",  # version 4: 0.21 before the step, 0.55 after it
    ]
    missing = [line for line in expected if line not in text]
    assert not missing, f"not in the report: {missing}"
    for figure in ("synthetic-ratios.png", "synthetic-truth.png"):
        assert f"]({figure})" in text
        assert (path.parent / figure).read_bytes()[:4] == b"\x89PNG"
