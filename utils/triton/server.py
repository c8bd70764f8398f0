"""Run the Triton Inference Server shipped in the ``nvidia-pytriton`` wheel as a child process.

The environment comes from :mod:`deepclean.utils.triton.environment`. The server binds HTTP,
gRPC and metrics to 127.0.0.1, uses explicit model control and loads every model of the
repository at start (or the ones named); it leads its own process group (the python backend
stubs are in it) and gets SIGTERM if the launching process dies.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from deepclean.utils.errors import ServerUnavailableError
from deepclean.utils.triton.environment import (
    VENV_ENV,
    ServerEnvironment,
    find_venv,
    prepare_server,
)

__all__ = [
    "HOST",
    "VENV_ENV",
    "PortInUseError",
    "TritonServer",
    "find_venv",
    "free_port",
    "prepare_server",
    "start_on_free_ports",
    "ServerEnvironment",
]

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"


class PortInUseError(ServerUnavailableError):
    """Another process holds one of the server's ports."""


def _die_with_parent() -> None:  # runs in the child between fork and exec
    os.setsid()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class TritonServer:
    """A ``tritonserver`` child process over one model repository; use as a context manager.

    Args:
        model_repository: folder of models (``<model>/config.pbtxt``, ``<model>/<version>/``).
        grpc_port, http_port: TCP ports on 127.0.0.1 (defaults 8001, 8000).
        metrics_port: TCP port for Prometheus metrics on 127.0.0.1; ``None`` disables metrics.
        load_models: models loaded at start; ``None`` loads every model in the repository.
        venv: the server's virtual environment (default: see :func:`find_venv`).
        log_path: file receiving the server's stdout and stderr; ``None`` inherits ours.
        startup_timeout: seconds to wait for the server to report ready.
    """

    def __init__(
        self,
        model_repository: Path | str,
        *,
        grpc_port: int = 8001,
        http_port: int = 8000,
        metrics_port: int | None = 8002,
        load_models: Sequence[str] | None = None,
        venv: Path | str | None = None,
        log_path: Path | str | None = None,
        startup_timeout: float = 120.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.model_repository = Path(model_repository).resolve()
        if not self.model_repository.is_dir():
            raise ServerUnavailableError(
                f"model repository {self.model_repository} is not a directory"
            )
        self.grpc_port, self.http_port, self.metrics_port = grpc_port, http_port, metrics_port
        self.load_models = list(load_models) if load_models is not None else None
        self.venv = venv
        self.log_path = Path(log_path) if log_path is not None else None
        self.startup_timeout = startup_timeout
        self.extra_args = list(extra_args)
        self.process: subprocess.Popen | None = None

    @property
    def grpc_url(self) -> str:
        return f"{HOST}:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"{HOST}:{self.http_port}"

    def command(self, env: ServerEnvironment) -> list[str]:
        args = [
            str(env.binary),
            f"--model-repository={self.model_repository}",
            f"--backend-directory={env.tree / 'backends'}",
            f"--cache-directory={env.tree / 'caches'}",
            "--model-control-mode=explicit",
            f"--grpc-address={HOST}",
            f"--grpc-port={self.grpc_port}",
            f"--http-address={HOST}",
            f"--http-port={self.http_port}",
            "--exit-timeout-secs=10",
        ]
        if self.metrics_port is None:
            args.append("--allow-metrics=false")
        else:
            args += [
                f"--metrics-address={HOST}",
                f"--metrics-port={self.metrics_port}",
                "--allow-gpu-metrics=false",
            ]
        models = self.load_models if self.load_models is not None else ["*"]
        args += [f"--load-model={name}" for name in models]
        return args + self.extra_args

    def start(self) -> TritonServer:
        """Start the server and wait until it and every loaded model are ready."""
        if self.process is not None:
            raise RuntimeError("this server was already started")
        env = prepare_server(self.venv)
        cmd = self.command(env)
        logger.info("starting Triton: %s", " ".join(cmd))
        out = open(self.log_path, "ab") if self.log_path is not None else None  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                cmd,
                env=env.environ(),
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
                preexec_fn=_die_with_parent,
            )
        finally:
            if out is not None:
                out.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        logger.info(
            "Triton ready: gRPC %s, HTTP %s (pid %d)",
            self.grpc_url,
            self.http_url,
            self.process.pid,
        )
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        url = f"http://{self.http_url}/v2/health/ready"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                log = (
                    self.log_path.read_text(errors="replace")
                    if self.log_path and self.log_path.is_file()
                    else ""
                )
                error = PortInUseError if "already in use" in log else ServerUnavailableError
                raise error(
                    f"tritonserver exited with status {code} while starting over "
                    f"{self.model_repository}"
                    f"{self._log_tail()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise ServerUnavailableError(
            f"tritonserver did not become ready within {self.startup_timeout} s at "
            f"{url}{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 12) -> str:
        """The server's error lines (``E...``, CUDA noise left out), else the last lines of its
        log."""
        if self.log_path is None or not self.log_path.is_file():
            return ""
        text = self.log_path.read_text(errors="replace").splitlines()
        errors = [
            line
            for line in text
            if line[:1] == "E" and line[1:5].isdigit() and "Cuda" not in line and "CUDA" not in line
        ] or [line for line in text if line.startswith("error:")]
        shown = errors[-lines:] or text[-lines:]
        return f"; server log ({self.log_path}):\n  " + "\n  ".join(shown)

    def poll(self) -> int | None:
        """The exit status if the server has stopped, else ``None``."""
        return None if self.process is None else self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the server to exit; return its status."""
        if self.process is None:
            raise RuntimeError("the server was not started")
        return self.process.wait(timeout)

    def stop(self, timeout: float = 20.0) -> int | None:
        """Ask the server to shut down (SIGTERM), kill it after ``timeout`` s; return its status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            logger.info("stopping Triton (pid %d)", self.process.pid)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("Triton did not stop within %s s; killing it", timeout)
        # the server leads its own process group; python backend stubs left behind are in it
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        return self.process.returncode

    def __enter__(self) -> TritonServer:
        """Start the server unless it runs already (e.g. from :func:`start_on_free_ports`)."""
        return self if self.process is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (for tests and benchmarks)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_on_free_ports(
    model_repository: Path | str,
    *,
    log_path: Path | str,
    attempts: int = 3,
    metrics: bool = False,
    **kwargs,
) -> TritonServer:
    """Start a server on ports free at the time, picking new ones if another process took one
    meanwhile."""
    for attempt in range(attempts):
        server = TritonServer(
            model_repository,
            grpc_port=free_port(),
            http_port=free_port(),
            metrics_port=free_port() if metrics else None,
            log_path=log_path,
            **kwargs,
        )
        try:
            return server.start()
        except PortInUseError:
            if attempt == attempts - 1:
                raise
            logger.warning("a port was taken while Triton started; trying other ports")
    raise AssertionError("unreachable")
