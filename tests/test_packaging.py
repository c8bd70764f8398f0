"""An installed (non-editable) package carries the [tool.deepclean] tables: profiles work without
the repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_settings import CASES, effective

ROOT = Path(__file__).resolve().parents[1]

#: run by the installed package: each service's settings as its own defaults.toml gives them
SETTINGS_PROBE = """
from deepclean.utils.config import load_settings
from deepclean.utils.training.settings import profile_overrides
from deepclean.services.cleaner.settings import CleanerSettings
from deepclean.services.exporter.settings import ExporterSettings, ExportModelSettings
from deepclean.services.monitor.settings import MonitorSettings
from deepclean.services.offline.settings import OfflineSettings
from deepclean.services.simulate.settings import SimulateSettings
from deepclean.services.trainer.settings import TrainerSettings
from deepclean.services.triton.settings import TritonSettings
from deepclean.services.up.settings import UpSettings
from deepclean.utils.training.settings import TrainingSettings
CLASSES = {c.service: c for c in (SimulateSettings, TrainingSettings, TrainerSettings,
    OfflineSettings, ExportModelSettings, ExporterSettings, TritonSettings, CleanerSettings,
    MonitorSettings, UpSettings)}
def settings_of(cases):
    out = []
    for service, profile in cases:
        cls = CLASSES[service]
        overrides = profile_overrides(profile, cls) if profile else None
        settings = load_settings(cls, environ={}, env_file=None, overrides=overrides)
        out.append(settings.model_dump(mode="json"))
    return out
"""


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
    cases = [[service, profile and profile.value] for service, profile in CASES]
    probe = (
        "import deepclean, json; from deepclean.utils.config import find_pyproject; "
        "from deepclean.utils.training.settings import read_profile; "
        "print(json.dumps([deepclean.__path__[0], str(find_pyproject()), "
        "read_profile('cpu')['inference_sampling_rate']]))\n"
        + SETTINGS_PROBE
        + f"print(json.dumps(settings_of({cases!r})))"
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
    first, second = out.splitlines()
    package, found, rate = json.loads(first)
    assert package.startswith(str(target))  # the installed copy, not the repository's editable one
    assert found == str(target / "deepclean" / "utils" / "defaults.toml") and rate == 32.0
    assert (target / "deepclean" / "utils" / "defaults.toml").read_bytes() == (
        ROOT / "pyproject.toml"
    ).read_bytes()
    # every service's effective settings, read through the packaged copy, are the pinned ones
    shipped = json.loads(second)
    assert len(shipped) == len(CASES)
    for (service, profile), got in zip(CASES, shipped):
        assert got == effective(service, profile), f"{service} ({profile}) from defaults.toml"
