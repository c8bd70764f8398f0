"""An installed (non-editable) package carries the [tool.deepclean] tables: profiles work without
the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_installed_package_reads_its_shipped_profiles(tmp_path: Path) -> None:
    wheels, target, elsewhere = tmp_path / "wheels", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("deepclean-*.whl")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        cwd=tmp_path,
    )
    probe = (
        "import deepclean, json; from deepclean.utils.config import find_pyproject; "
        "from deepclean.utils.training.settings import read_profile; "
        "print(json.dumps([deepclean.__path__[0], str(find_pyproject()), "
        "read_profile('cpu')['inference_sampling_rate']]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DEEPCLEAN_CONFIG"}
    env["PYTHONPATH"] = str(target)
    out = subprocess.run(
        [sys.executable, "-c", probe],
        check=True,
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    package, found, rate = __import__("json").loads(out)
    assert package.startswith(str(target))  # the installed copy, not the repository's editable one
    assert found == str(target / "deepclean" / "utils" / "defaults.toml") and rate == 32.0
    assert (target / "deepclean" / "utils" / "defaults.toml").read_bytes() == (
        ROOT / "pyproject.toml"
    ).read_bytes()
