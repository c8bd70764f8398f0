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

WITNESSES = 3  #: channels of the small conv net
SAMPLES = 64  #: samples per window of the small conv net


class SmallConvNet(nn.Module):
    """DeepClean's layer types in miniature: Conv1d, ConvTranspose1d, BatchNorm1d, ELU.

    Input ``(batch, WITNESSES, SAMPLES)``, output ``(batch, SAMPLES)``.
    """

    def __init__(self, witnesses: int = WITNESSES) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(witnesses, 8, 7, stride=2, padding=3),
            nn.BatchNorm1d(8),
            nn.ELU(),
            nn.ConvTranspose1d(8, witnesses, 7, stride=2, padding=3, output_padding=1),
            nn.BatchNorm1d(witnesses),
            nn.ELU(),
            nn.Conv1d(witnesses, 1, 7, padding=3),
        )
        generator = torch.Generator().manual_seed(0)
        for module in self.net:
            if isinstance(module, nn.BatchNorm1d):  # non-trivial running statistics
                module.running_mean.copy_(torch.randn(module.num_features, generator=generator))
                module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[:, 0]


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
        {"TYPE_FP32": np.float32, "TYPE_FP64": np.float64, "TYPE_FP16": np.float16, "TYPE_INT64": np.int64,
         "TYPE_INT32": np.int32}[name]
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
