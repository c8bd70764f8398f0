"""A short soak in the suite: `deepclean soak` for 150 s after the first cleaned frame, with the
simulator's 2 % dropped and 2 % partially written frames and a subset of the faults (kill -9 of
the cleaner and of Triton, a corrupt strain frame, a NaN burst in a witness, a SIGTERM'd
monitor, the project directory full for 20 s where a tmpfs can be mounted, else skipped with
the reason in the report); the verification from the files on disk must pass and the report
be written. The hour-long soak is the same command with --duration 3600 (docs/soak/)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_up import _our_processes

pytestmark = pytest.mark.slow

FAULTS = "kill-cleaner,corrupt,disk-full,nan,kill-triton,restart-monitor"


def test_short_soak_loses_no_second(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.setdefault(
        "DEEPCLEAN_TRITON_VENV", str(Path(__file__).resolve().parents[1] / ".triton" / "venv")
    )
    report = tmp_path / "report" / "soak.md"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "deepclean"), "soak", "--duration", "150"]
        + ["--faults", FAULTS, "--workdir", str(tmp_path / "work"), "--report", str(report)]
        + ["--disk-full-seconds", "20"],
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
    )
    text = report.read_text() if report.is_file() else "(no report)"
    assert result.returncode == 0, result.stderr[-4000:] + "\n" + text
    assert "**PASS**" in text and " 0 lost, 0 written twice" in text, text
    for fault in FAULTS.split(","):
        assert f"| {fault} |" in text, fault
    assert (report.parent / "soak-latency.png").stat().st_size > 1000
    assert "ABOVE 1" not in text and "OUT_DQ cleaned by each production version" in text, text
    assert "## Alerts per fault" in text, text
    if "disk-full skipped" not in text:  # the disk was full: the seconds due then are excused
        assert "ENOSPC" in text, text
    assert not _our_processes(str(tmp_path)), "processes left behind"
    assert str(tmp_path) not in Path("/proc/mounts").read_text(), "the tmpfs left mounted"
