"""``deepclean up`` in a work directory of its own, on free ports, started and stopped from Python.

What the soak (:mod:`deepclean.services.soak`) and the accelerated drift run
(``benchmarks/bench_drift.py``) run: every port a service listens on is a free one, given
through the services' own environment variables (``DEEPCLEAN_<SERVICE>_<PORT>``), and the
``.env`` read is an empty file in the work directory, so a pipeline already running on the
default ports (or another sandbox) is left alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from deepclean.utils.triton.server import free_port

#: each port of a sandbox -> the environment variable of the setting that gives it
PORT_ENV = {
    "triton_http": "DEEPCLEAN_TRITON_HTTP_PORT",
    "triton_grpc": "DEEPCLEAN_TRITON_GRPC_PORT",
    "triton_metrics": "DEEPCLEAN_TRITON_METRICS_PORT",
    "exporter": "DEEPCLEAN_EXPORTER_PORT",
    "monitor": "DEEPCLEAN_MONITOR_PORT",
    "cleaner": "DEEPCLEAN_CLEANER_METRICS_PORT",
    "up": "DEEPCLEAN_UP_METRICS_PORT",
    "prometheus": "DEEPCLEAN_UP_PROMETHEUS_PORT",
}


def free_ports() -> dict[str, int]:
    """A free port on 127.0.0.1 for each key of :data:`PORT_ENV`."""
    return {name: free_port() for name in PORT_ENV}


def sandbox_env(workdir: Path, ports: dict[str, int], *, prometheus: bool) -> dict[str, str]:
    """This process's environment plus the sandbox's: an empty ``.env`` in ``workdir``, the
    ``ports`` (Prometheus's 0 unless ``prometheus``), ``DEEPCLEAN_TRITON_VENV`` made absolute
    (``up`` runs in ``workdir``)."""
    env = {**os.environ, "DEEPCLEAN_ENV_FILE": str(Path(workdir) / "empty.env")}
    env.update({PORT_ENV[name]: str(port) for name, port in ports.items()})
    if not prometheus:
        env[PORT_ENV["prometheus"]] = "0"
    if env.get("DEEPCLEAN_TRITON_VENV"):
        env["DEEPCLEAN_TRITON_VENV"] = str(Path(env["DEEPCLEAN_TRITON_VENV"]).resolve())
    return env


def start_up(workdir: Path, env: dict[str, str], *args: str) -> subprocess.Popen:
    """``deepclean up <args>`` in ``workdir`` (its console in ``workdir/up.out``), in a session of
    its own so that :func:`stop_up` reaches every service."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "empty.env").write_text("")
    with open(workdir / "up.out", "w") as out:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "deepclean"), "up", *args],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_up(up: subprocess.Popen, timeout: float = 120.0) -> int:
    """Ctrl-C to ``up`` (it stops every service), SIGKILL to its session after ``timeout`` s; its
    exit status (130 when everything stopped)."""
    if up.poll() is None:
        up.send_signal(signal.SIGINT)
    try:
        up.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(up.pid, signal.SIGKILL)
        up.wait()
    return up.returncode
