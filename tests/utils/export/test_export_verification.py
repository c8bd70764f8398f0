"""Verification after export: a deliberately wrong export is caught (and removed), NaN/Inf
fail, tolerances are relative to the signal scale, latencies are recorded per batch size."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from deepclean.utils.export import (
    STATUS_FILENAME,
    ExportOptions,
    ModelRepository,
    OnnxExporter,
    Platform,
    Verification,
    VerificationError,
)
from deepclean.utils.export.verify import compare

SHAPES = {"x": (None, 3, 64)}


def _exporting() -> bool:
    return torch.jit.is_tracing() or torch.compiler.is_exporting()


class WrongWhenExported(torch.nn.Module):
    """Behaves differently while being exported: the artifact is off by ``offset``."""

    def __init__(self, offset: float) -> None:
        super().__init__()
        self.offset = offset

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = 1e-21 * x.mean(1)  # strain-sized outputs: tolerances must be relative to the scale
        return y + self.offset * 1e-21 if _exporting() else y


class NaNWhenExported(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(1) * float("nan") if _exporting() else x.mean(1)


class NaNAlways(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log(x.mean(1) - 100.0)


CASES = [
    pytest.param(Platform.ONNX, OnnxExporter.DYNAMO, id="onnx-dynamo"),
    pytest.param(Platform.ONNX, OnnxExporter.TORCHSCRIPT, id="onnx-legacy"),
    pytest.param(Platform.TORCHSCRIPT, OnnxExporter.DYNAMO, id="torchscript"),
]


def _model(tmp_path, platform):
    model = ModelRepository(tmp_path).create_model("net", platform)
    model.config.max_batch_size = 4
    return model


@pytest.mark.parametrize(("platform", "exporter"), CASES)
def test_wrong_export_is_caught_and_removed(tmp_path, platform, exporter) -> None:
    model = _model(tmp_path, platform)
    with pytest.raises(
        VerificationError,
        match=r"batch size 1: output '\w+': max abs error 1e-2[34] exceeds atol 0",
    ):
        model.export_version(
            WrongWhenExported(0.01),
            input_shapes=SHAPES,
            options=ExportOptions(onnx_exporter=exporter),
        )
    assert list(tmp_path.iterdir()) == []


def test_tolerance_is_relative_to_scale(tmp_path) -> None:
    """The same 1% offset passes with rtol 0.1 (max|y| ~ 2e-21), though every value is ~1e-21."""
    model = _model(tmp_path, Platform.TORCHSCRIPT)
    path = model.export_version(
        WrongWhenExported(0.01), input_shapes=SHAPES, verification=Verification(rtol=0.1)
    )
    status = json.loads((path.parent / STATUS_FILENAME).read_text())["verification"]
    assert 0.9e-23 < status["worst_abs_error"] < 1.1e-23 and 1e-3 < status["worst_rel_error"] < 0.1


def test_nan_in_export_fails(tmp_path) -> None:
    model = _model(tmp_path, Platform.TORCHSCRIPT)
    with pytest.raises(
        VerificationError, match="output 'output__0' of the exported model holds NaN/Inf"
    ):
        model.export_version(
            NaNWhenExported(), input_shapes=SHAPES, verification=Verification(rtol=1e9, atol=1e9)
        )
    assert list(tmp_path.iterdir()) == []


def test_nan_in_source_fails(tmp_path) -> None:
    model = _model(tmp_path, Platform.TORCHSCRIPT)
    with pytest.raises(VerificationError, match="of the source torch module holds NaN/Inf"):
        model.export_version(NaNAlways(), input_shapes=SHAPES)


def test_latency_per_batch_size(tmp_path, small_net) -> None:
    model = _model(tmp_path, Platform.TORCHSCRIPT)
    model.config.max_batch_size = 16
    path = model.export_version(
        small_net, input_shapes=SHAPES, verification=Verification(batch_sizes=(1, 3, 16))
    )
    status = json.loads((path.parent / STATUS_FILENAME).read_text())
    batches = status["verification"]["batches"]
    assert [b["batch_size"] for b in batches] == [1, 3, 16]
    assert all(b["latency_ms"] > 0 and b["max_abs_error"]["output__0"] < 1e-5 for b in batches)
    assert (
        status["version"] == 1
        and status["platform"] == "pytorch_libtorch"
        and status["export_seconds"] > 0
    )
    with pytest.raises(ValueError, match=r"batch sizes \[1, 32\] exceed max_batch_size 16"):
        model.export_version(small_net, verification=Verification(batch_sizes=(1, 32)))


def test_given_example_inputs(tmp_path, small_net) -> None:
    model = _model(tmp_path, Platform.TORCHSCRIPT)
    x = np.full((1, 3, 64), 2.0, dtype=np.float32)
    path = model.export_version(small_net, input_shapes=SHAPES, example_inputs={"x": x})
    batches = json.loads((path.parent / STATUS_FILENAME).read_text())["verification"]["batches"]
    assert [b["batch_size"] for b in batches] == [1]
    with pytest.raises(ValueError, match=r"example_inputs has inputs \['y'\]; expected \['x'\]"):
        model.export_version(small_net, example_inputs={"y": x})


@pytest.mark.parametrize(
    ("reference", "exported", "problem"),
    [
        (np.ones((2, 3)), np.ones((2, 3)), None),
        (np.ones((2, 3)) * 1e-21, np.ones((2, 3)) * 1.00001e-21, None),
        (np.ones((2, 3)) * 1e-21, np.ones((2, 3)) * 1.001e-21, "exceeds"),
        (np.ones((2, 3)), np.ones((3, 2)), "has shape"),
        (np.ones((2, 3)), np.full((2, 3), np.inf), "exported model holds NaN/Inf"),
        (np.zeros((2, 3)), np.zeros((2, 3)), None),
    ],
    ids=["equal", "strain-within", "strain-beyond", "shape", "inf", "zeros"],
)
def test_compare(reference, exported, problem) -> None:
    _, _, problems = compare({"y": reference}, {"y": exported}, atol=0.0, rtol=1e-4)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0]
