"""Fixtures for the export library tests: small torch modules and a stand-in for Triton's
``triton_python_backend_utils`` (used ONLY to import python-backend ``model.py`` files in
unit tests; the real Triton run of these models is the streaming integration test's)."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from .nets import SmallConvNet


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny modules run far faster on one thread on this shared 2-core machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def small_net() -> SmallConvNet:
    torch.manual_seed(0)
    return SmallConvNet().eval()


@pytest.fixture
def linear_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(256, 16), nn.ReLU(), nn.Linear(16, 4))


# ----------------------------------------------------------------- python backend stand-in


class _Tensor:
    def __init__(self, name: str, array: np.ndarray) -> None:
        self._name, self._array = name, np.asarray(array)

    def name(self) -> str:
        return self._name

    def as_numpy(self) -> np.ndarray:
        return self._array


class _Request:
    """Stand-in request: named input tensors."""

    def __init__(self, inputs: dict[str, np.ndarray]) -> None:
        self.inputs = {name: _Tensor(name, array) for name, array in inputs.items()}


class _Response:
    def __init__(self, output_tensors=None, error=None) -> None:
        self.output_tensors, self.error = list(output_tensors or []), error

    def outputs(self) -> dict[str, np.ndarray]:
        return {t.name(): t.as_numpy() for t in self.output_tensors}


class _TritonError:
    def __init__(self, message: str) -> None:
        self._message = message

    def message(self) -> str:
        return self._message


def _stand_in() -> types.ModuleType:
    module = types.ModuleType("triton_python_backend_utils")
    module.Tensor = _Tensor
    module.InferenceRequest = _Request
    module.InferenceResponse = _Response
    module.TritonError = _TritonError
    module.get_input_tensor_by_name = lambda request, name: request.inputs.get(name)
    module.triton_string_to_numpy = lambda name: np.dtype(
        {
            "TYPE_FP32": np.float32,
            "TYPE_FP64": np.float64,
            "TYPE_FP16": np.float16,
            "TYPE_INT64": np.int64,
            "TYPE_INT32": np.int32,
        }[name]
    )
    return module


@pytest.fixture
def pb_utils(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A minimal ``triton_python_backend_utils`` installed in sys.modules for this test."""
    module = _stand_in()
    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", module)
    return module


@pytest.fixture
def load_python_model(pb_utils):
    """Import a python-backend ``model.py`` file (with the stand-in) and return its module."""

    def load(path: Path) -> types.ModuleType:
        spec = importlib.util.spec_from_file_location(f"triton_model_{abs(hash(str(path)))}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
