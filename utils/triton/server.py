"""Run the Triton Inference Server shipped in the ``nvidia-pytriton`` wheel as a child process.

The server has its own virtual environment (numpy<2, ``nvidia-pytriton``, onnxruntime), made by
``./run.sh setup`` at ``<repo>/.triton/venv`` or named by ``$DEEPCLEAN_TRITON_VENV``. The wheel's
``tritonserver/`` tree is copied once into ``<venv>/deepclean-tritonserver/`` (so it lives and
dies with the environment) with the python backend stub for the environment's Python placed in
``backends/python/``. The server is started with that environment's ``bin`` first on ``PATH``,
its Python's ``lib`` directory and the wheel's ``nvidia_pytriton.libs`` on ``LD_LIBRARY_PATH``
(without the first the stub loads the system libpython and dies), HTTP, gRPC and metrics bound
to 127.0.0.1, and explicit model control with every model of the repository loaded at start.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from deepclean.utils.errors import ServerUnavailableError

logger = logging.getLogger(__name__)

VENV_ENV = "DEEPCLEAN_TRITON_VENV"  #: environment variable naming the server's venv
_REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VENV = _REPO_ROOT / ".triton" / "venv"
TREE_NAME = "deepclean-tritonserver"  #: folder inside the venv holding the runnable server tree
HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServerEnvironment:
    """Where the server binary, its backends and the libraries it needs are."""

    venv: Path  #: the server's virtual environment
    python_libdir: Path  #: directory holding the venv Python's libpython
    libs: Path  #: the wheel's ``nvidia_pytriton.libs``
    tree: Path  #: the runnable ``tritonserver`` tree (bin/, backends/, caches/)

    @property
    def binary(self) -> Path:
        return self.tree / "bin" / "tritonserver"

    def environ(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The process environment for the server: venv first on PATH, libpython and wheel libs loadable."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = os.pathsep.join([str(self.venv / "bin"), env.get("PATH", "")]).rstrip(os.pathsep)
        libs = [str(self.python_libdir), str(self.libs)]
        if env.get("LD_LIBRARY_PATH"):
            libs.append(env["LD_LIBRARY_PATH"])
        env["LD_LIBRARY_PATH"] = os.pathsep.join(libs)
        env["VIRTUAL_ENV"] = str(self.venv)
        env.pop("PYTHONPATH", None)  # the stub must see the server venv only
        env.pop("PYTHONHOME", None)
        return env


def find_venv(venv: Path | str | None = None) -> Path:
    """The server's venv: ``venv`` if given, else ``$DEEPCLEAN_TRITON_VENV``, else ``<repo>/.triton/venv``."""
    if venv is not None:
        path, source = Path(venv), "the given venv"
    elif os.environ.get(VENV_ENV):
        path, source = Path(os.environ[VENV_ENV]), f"${VENV_ENV}"
    else:
        path, source = DEFAULT_VENV, "the default location"
    if not (path / "bin" / "python").exists():
        raise ServerUnavailableError(
            f"no Triton server environment at {path} ({source}): run `./run.sh setup` to create it "
            f"(or point {VENV_ENV} at a venv with nvidia-pytriton, numpy<2 and onnxruntime)"
        )
    return path


def _inspect_venv(venv: Path) -> dict[str, str]:
    code = (
        "import json, sys, sysconfig, importlib.util as u;"
        "s = u.find_spec('pytriton');"
        "print(json.dumps({'version': '%d.%d' % sys.version_info[:2],"
        " 'libdir': sysconfig.get_config_var('LIBDIR') or '',"
        " 'pytriton': str(list(s.submodule_search_locations)[0]) if s else ''}))"
    )
    try:
        out = subprocess.run(
            [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ServerUnavailableError(f"cannot run the Python of the Triton environment {venv}: {exc}") from exc
    info = json.loads(out)
    if not info["pytriton"]:
        raise ServerUnavailableError(
            f"nvidia-pytriton is not installed in the Triton environment {venv}: run `./run.sh setup`"
        )
    return info


def prepare_server(venv: Path | str | None = None) -> ServerEnvironment:
    """Locate the server environment and make sure its runnable tree exists (copied once, atomically)."""
    venv = find_venv(venv)
    info = _inspect_venv(venv)
    wheel = Path(info["pytriton"])
    source = wheel / "tritonserver"
    stub = source / "python_backend_stubs" / info["version"] / "triton_python_backend_stub"
    if not stub.is_file():
        raise ServerUnavailableError(
            f"the nvidia-pytriton wheel in {venv} has no python backend stub for Python {info['version']} "
            f"(looked for {stub}); use Python 3.8-3.13 for the Triton environment"
        )
    libs = wheel.parent / "nvidia_pytriton.libs"
    tree = venv / TREE_NAME
    marker = f"{source.resolve()} {(source / 'bin' / 'tritonserver').stat().st_mtime_ns} {info['version']}"
    if not (tree / ".source").is_file() or (tree / ".source").read_text() != marker:
        _copy_tree(source, stub, tree, marker)
    return ServerEnvironment(venv=venv, python_libdir=Path(info["libdir"]), libs=libs, tree=tree)


def _copy_tree(source: Path, stub: Path, tree: Path, marker: str) -> None:
    logger.info("laying out the Triton server tree %s from %s", tree, source)
    staging = Path(tempfile.mkdtemp(prefix=f".{TREE_NAME}-", dir=tree.parent))
    try:
        work = staging / "tree"
        shutil.copytree(source, work, ignore=shutil.ignore_patterns("python_backend_stubs", "__pycache__"))
        shutil.copy2(stub, work / "backends" / "python" / stub.name)
        (work / ".source").write_text(marker)
        old = staging / "old"
        if tree.exists():
            os.replace(tree, old)  # another process may be using it: it keeps its open files
        try:
            os.replace(work, tree)
        except OSError:
            if not (tree / ".source").is_file():  # lost a race with another process: theirs is equivalent
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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
            raise ServerUnavailableError(f"model repository {self.model_repository} is not a directory")
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
            args += [f"--metrics-address={HOST}", f"--metrics-port={self.metrics_port}", "--allow-gpu-metrics=false"]
        models = self.load_models if self.load_models is not None else ["*"]
        args += [f"--load-model={name}" for name in models]
        return args + self.extra_args

    def start(self) -> "TritonServer":
        """Start the server and wait until it and every loaded model are ready."""
        if self.process is not None:
            raise RuntimeError("this server was already started")
        env = prepare_server(self.venv)
        cmd = self.command(env)
        logger.info("starting Triton: %s", " ".join(cmd))
        out = open(self.log_path, "ab") if self.log_path is not None else None
        try:
            self.process = subprocess.Popen(
                cmd, env=env.environ(), stdout=out, stderr=subprocess.STDOUT if out else None,
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
        logger.info("Triton ready: gRPC %s, HTTP %s (pid %d)", self.grpc_url, self.http_url, self.process.pid)
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        url = f"http://{self.http_url}/v2/health/ready"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise ServerUnavailableError(
                    f"tritonserver exited with status {code} while starting over {self.model_repository}"
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
            f"tritonserver did not become ready within {self.startup_timeout} s at {url}{self._log_tail()}"
        )

    def _log_tail(self, lines: int = 12) -> str:
        """The server's error lines (``E...``, CUDA noise left out), else the last lines of its log."""
        if self.log_path is None or not self.log_path.is_file():
            return ""
        text = self.log_path.read_text(errors="replace").splitlines()
        errors = [line for line in text if line[:1] == "E" and line[1:5].isdigit() and "Cuda" not in line
                  and "CUDA" not in line] or [line for line in text if line.startswith("error:")]
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
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        return self.process.returncode

    def __enter__(self) -> "TritonServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (for tests and benchmarks)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


if __name__ == "__main__":  # pragma: no cover - manual check: python -m deepclean.utils.triton.server REPO
    logging.basicConfig(level="INFO")
    with TritonServer(sys.argv[1], grpc_port=free_port(), http_port=free_port(), metrics_port=None) as server:
        print("ready at", server.grpc_url)
