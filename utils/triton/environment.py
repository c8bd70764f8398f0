"""The Triton server's own environment: its venv, and the runnable ``tritonserver`` tree from its
wheel.

The server has its own virtual environment (numpy<2, ``nvidia-pytriton``, onnxruntime), made by
``./run.sh setup`` at ``<repo>/.triton/venv`` or named by ``$DEEPCLEAN_TRITON_VENV``. The wheel's
``tritonserver/`` tree is copied once into ``<venv>/deepclean-tritonserver/`` (so it lives and
dies with the environment) with the python backend stub for the environment's Python placed in
``backends/python/``. The server runs with that environment's ``bin`` first on ``PATH`` and its
Python's ``lib`` directory and the wheel's ``nvidia_pytriton.libs`` on ``LD_LIBRARY_PATH``
(without the first, the stub loads the system libpython and dies with
``'_thread.RLock' object has no attribute '_recursion_count'``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from deepclean.utils.errors import ServerUnavailableError

logger = logging.getLogger(__name__)

VENV_ENV = "DEEPCLEAN_TRITON_VENV"  #: environment variable naming the server's venv
_REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VENV = _REPO_ROOT / ".triton" / "venv"
TREE_NAME = "deepclean-tritonserver"  #: folder inside the venv holding the runnable server tree


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
        """The process environment for the server: venv first on PATH, libpython and wheel libs
        loadable."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = os.pathsep.join([str(self.venv / "bin"), env.get("PATH", "")]).rstrip(
            os.pathsep
        )
        libs = [str(self.python_libdir), str(self.libs)]
        if env.get("LD_LIBRARY_PATH"):
            libs.append(env["LD_LIBRARY_PATH"])
        env["LD_LIBRARY_PATH"] = os.pathsep.join(libs)
        env["VIRTUAL_ENV"] = str(self.venv)
        env.pop("PYTHONPATH", None)  # the stub must see the server venv only
        env.pop("PYTHONHOME", None)
        return env


def find_venv(venv: Path | str | None = None) -> Path:
    """The server's venv: ``venv`` if given, else ``$DEEPCLEAN_TRITON_VENV``, else
    ``<repo>/.triton/venv``."""
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
            [str(venv / "bin" / "python"), "-c", code],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ServerUnavailableError(
            f"cannot run the Python of the Triton environment {venv}: {exc}"
        ) from exc
    info = json.loads(out)
    if not info["pytriton"]:
        raise ServerUnavailableError(
            f"nvidia-pytriton is not installed in the Triton environment {venv}: run "
            "`./run.sh setup`"
        )
    return info


def prepare_server(venv: Path | str | None = None) -> ServerEnvironment:
    """Locate the server environment and make sure its runnable tree exists (copied once,
    atomically)."""
    venv = find_venv(venv)
    info = _inspect_venv(venv)
    wheel = Path(info["pytriton"])
    source = wheel / "tritonserver"
    stub = source / "python_backend_stubs" / info["version"] / "triton_python_backend_stub"
    if not stub.is_file():
        raise ServerUnavailableError(
            f"the nvidia-pytriton wheel in {venv} has no python backend stub for Python "
            f"{info['version']} "
            f"(looked for {stub}); use Python 3.8-3.13 for the Triton environment"
        )
    libs = wheel.parent / "nvidia_pytriton.libs"
    tree = venv / TREE_NAME
    marker = (
        f"{source.resolve()} {(source / 'bin' / 'tritonserver').stat().st_mtime_ns} "
        f"{info['version']}"
    )
    if not (tree / ".source").is_file() or (tree / ".source").read_text() != marker:
        _copy_tree(source, stub, tree, marker)
    return ServerEnvironment(venv=venv, python_libdir=Path(info["libdir"]), libs=libs, tree=tree)


def _copy_tree(source: Path, stub: Path, tree: Path, marker: str) -> None:
    logger.info("laying out the Triton server tree %s from %s", tree, source)
    staging = Path(tempfile.mkdtemp(prefix=f".{TREE_NAME}-", dir=tree.parent))
    try:
        work = staging / "tree"
        shutil.copytree(
            source, work, ignore=shutil.ignore_patterns("python_backend_stubs", "__pycache__")
        )
        shutil.copy2(stub, work / "backends" / "python" / stub.name)
        (work / ".source").write_text(marker)
        old = staging / "old"
        if tree.exists():
            os.replace(tree, old)  # another process may be using it: it keeps its open files
        try:
            os.replace(work, tree)
        except OSError:
            if not (
                tree / ".source"
            ).is_file():  # lost a race with another process: theirs is equivalent
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
