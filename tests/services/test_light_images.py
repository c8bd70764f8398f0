"""The cleaner and the monitor never import torch (nor onnx): their images are built without
them (the ``build-light`` stage of ./Dockerfile), so an import that pulls torch in through a
``utils`` module would break them only there. Checked in a fresh interpreter."""

import subprocess
import sys

import pytest

MODULES = {
    "cleaner": [
        "deepclean.services.cli",
        "deepclean.services.cleaner.cli",
        "deepclean.services.cleaner.service",
        "deepclean.services.cleaner.settings",
    ],
    "monitor": [
        "deepclean.services.monitor.cli",
        "deepclean.services.monitor.service",
        "deepclean.services.monitor.app",
        "deepclean.services.monitor.settings",
    ],
}
COMMON = [
    "deepclean.utils.config",
    "deepclean.utils.http_server",
    "deepclean.utils.locks",
    "deepclean.utils.logs",
    "deepclean.utils.signals",
]
HEAVY = ("torch", "onnx", "onnxscript", "onnxruntime")


@pytest.mark.parametrize("service", sorted(MODULES))
def test_service_runs_without_torch(service: str) -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {MODULES[service] + COMMON!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]", f"{service} imports {out.stdout.strip()}"
