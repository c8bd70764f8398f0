"""The front door: ./run.sh passes the caller's relative paths through unchanged."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_relative_paths_are_relative_to_the_caller(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(ROOT / "run.sh"),
            "simulate",
            "--data-dir",
            "./here",
            "--ifo",
            "H1",
            "--start",
            "1400000000",
            "--duration",
            "1",
            "--backfill",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "here" / "kafka" / "H1" / "H-H1_llhoft-1400000000-1.gwf").is_file()
    assert not (ROOT / "here").exists()


def test_unknown_command_is_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(ROOT / "run.sh"), "frobnicate"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "run.sh: unknown command 'frobnicate'; try ./run.sh help"
