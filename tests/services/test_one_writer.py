"""One writer per directory: a second cleaner, monitor, trainer or exporter on the same project
directory (and IFO) exits at once with one line naming the running one's pid; the first keeps
running. Real processes (``python -m deepclean.services.cli``); the cleaner's case with a real
Triton and two cleaners sharing it is in ``tests/services/cleaner/test_cleaner_sharing.py``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deepclean.utils.triton.server import free_port

pytestmark = pytest.mark.slow

CHANNELS = ["H1:GDS-CALIB_STRAIN", "H1:PEM-CS_MAINSMON_EBAY_1_DQ", "H1:ASC-DHARD_P_OUT_DQ"]


def command(service: str, project: Path, data: Path) -> list[str]:
    common = ["--project-dir", str(project), "--data-dir", str(data), "--ifo", "H1"]
    unreachable = f"127.0.0.1:{free_port()}"
    return {
        # each one waits for something that never comes, holding its lock meanwhile
        "cleaner": [
            "cleaner",
            *common,
            "--triton-url",
            unreachable,
            "--metrics-port",
            "0",
        ],
        "monitor": [
            "monitor",
            *common,
            "--port",
            str(free_port()),
            "--triton-url",
            unreachable,
            "--exporter-url",
            f"http://{unreachable}",
        ],
        "trainer": [
            "trainer",
            *common,
            "--profile",
            "cpu",
            "--channels",
            *CHANNELS,
            "--notify-url",
            f"http://{unreachable}/models",
        ],
        "exporter": [
            "exporter",
            *common,
            "--profile",
            "cpu",
            "--channels",
            *CHANNELS,
            "--triton-url",
            unreachable,
            "--triton-timeout",
            "600",
            "--port",
            str(free_port()),
        ],
    }[service]


def environment(tmp_path: Path) -> dict[str, str]:
    """No settings from the developer's environment or ``.env``."""
    (tmp_path / "empty.env").touch()
    drop = ("IFO", "DATA_DIR", "PROJECT_DIR", "DEEPCLEAN_PROFILE", "DEEPCLEAN_TOKEN")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, "PYTHONUNBUFFERED": "1", "DEEPCLEAN_ENV_FILE": str(tmp_path / "empty.env")}


def spawn(argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "deepclean.services.cli", *argv],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )


@pytest.mark.parametrize("service", ["cleaner", "monitor", "trainer", "exporter"])
def test_a_second_instance_exits_at_once_naming_the_first(service: str, tmp_path: Path) -> None:
    project, data = tmp_path / "project", tmp_path / "data"
    project.mkdir()
    data.mkdir()
    lock = (
        project / "locks" / "exporter-model_repo.lock"
        if service == "exporter"
        else project / "locks" / f"{service}-H1.lock"
    )
    env = environment(tmp_path)
    first = spawn(command(service, project, data), tmp_path / "first.log", env)
    try:
        deadline = time.monotonic() + 120
        while not (lock.is_file() and lock.read_text().strip() == str(first.pid)):
            assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the first instance never took its lock"
            time.sleep(0.2)
        began = time.monotonic()
        second = subprocess.run(
            [sys.executable, "-m", "deepclean.services.cli", *command(service, project, data)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        took = time.monotonic() - began
        assert second.returncode == 1, second.stderr[-3000:]
        errors = [line for line in second.stderr.splitlines() if ": error: " in line]
        holder = (
            f"exporter of {project / 'model_repo'}" if service == "exporter" else f"{service} of H1"
        )
        assert errors == [
            f"deepclean {service}: error: another {holder} is running "
            f"(pid {first.pid}, lock {lock}); stop it first, or give this one another "
            "project directory"
        ], second.stderr[-3000:]
        assert took < 60, f"the second {service} took {took:.1f} s to give up"
        assert first.poll() is None, "the first instance must keep running"
    finally:
        first.terminate()
        try:
            first.wait(60)
        except subprocess.TimeoutExpired:
            first.kill()
            first.wait(10)
