"""Shared by the exporter tests: tiny trained runs, exporter settings, and "nothing changed"
snapshots."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from deepclean.services.exporter.settings import ExporterSettings
from deepclean.utils.config import load_settings
from deepclean.utils.training.settings import profile_overrides

from ..trainer.sim_helpers import GPS, IFO, TINY_TRAIN, flags, run_cli, simulate

#: the cpu profile's geometry (1 s windows, 32 windows/s, 8 per update) at 4096 Hz
RUNS = {"a": (GPS, GPS + 32), "b": (GPS + 16, GPS + 48), "c": (GPS + 8, GPS + 40)}


def train_runs(root: Path, names: tuple[str, ...] = ("a", "b")) -> dict[str, Path]:
    """Simulated frames (2 witnesses) and one tiny training run per name in
    ``root/runs/<start>-<end>``."""
    data = simulate(root / "data", 52)
    out = {}
    for name in names:
        start, end = RUNS[name]
        folder = root / "runs" / f"{start}-{end}"
        code = run_cli(
            [
                "train",
                "--profile",
                "cpu",
                "--data-dir",
                str(data),
                "--ifo",
                IFO,
                "--channels",
                str(data / "channels.txt"),
                "--start",
                str(start),
                "--duration",
                str(end - start),
                "--output-dir",
                str(folder),
                *flags(TINY_TRAIN),
            ]
        )
        assert code == 0
        out[name] = folder
    return out


def install_run(run: Path, project: Path) -> Path:
    """Copy a trained run into ``project/train`` (where the trainer writes); return its resolved
    path."""
    target = project / "train" / run.name
    shutil.copytree(run, target)
    return target.resolve()


def settings(project: Path, data: Path, **values: Any) -> ExporterSettings:
    cli = {
        "project_dir": project,
        "data_dir": data,
        "ifo": IFO,
        "channels": [str(data / "channels.txt")],
        **values,
    }
    return load_settings(
        ExporterSettings,
        cli,
        environ={},
        env_file=None,
        overrides=profile_overrides("cpu", ExporterSettings),
    )


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder under ``root``."""
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
    }


def http(
    method: str,
    url: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    token: str | None = None,
    timeout: float = 30.0,
    content_type: str | None = "application/json",
) -> tuple[int, Any]:
    """One request; returns (status, decoded JSON or text). ``content_type`` of a body
    (None: no header)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None and content_type is not None:
        request.add_header("Content-Type", content_type)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def wait_job(base: str, job: int, timeout: float = 120.0) -> dict[str, Any]:
    """Poll ``/jobs/<job>`` until it is done or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = http("GET", f"{base}/jobs/{job}")
        assert status == 200, body
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"job {job} did not finish within {timeout} s")
