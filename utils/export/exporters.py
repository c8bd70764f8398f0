"""One exporter per platform: write the artifact into a version directory, return a runner.

Every exporter takes the torch module, the directory of the version being built, one
example input per input name (in the module's argument order), the output names and the
dynamic axes, and returns a :data:`~deepclean.utils.export.verify.Runner` over the
written artifact, which the caller verifies against the module.

=====================  ===============  ===============================================
platform               file(s)          how
=====================  ===============  ===============================================
``onnxruntime_onnx``   ``model.onnx``   ``torch.onnx.export`` (dynamo by default)
``pytorch_libtorch``   ``model.pt``     ``torch.jit.trace``
``tensorrt_plan``      ``model.plan``   ONNX, then TensorRT's builder (needs ``tensorrt``)
``python``             ``model.py`` +   ONNX plus :mod:`.backend.onnxruntime_model`, run by
                       ``model.onnx``   onnxruntime inside Triton's python backend
=====================  ===============  ===============================================
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from deepclean.utils.export.onnx_export import export_onnx, onnx_runner
from deepclean.utils.export.platform import OnnxExporter, Platform
from deepclean.utils.export.tensorrt_export import build_plan, plan_runner, require_tensorrt
from deepclean.utils.export.torchscript_export import (
    check_output_names,
    export_torchscript,
    torchscript_runner,
)
from deepclean.utils.export.verify import Runner

ONNX_PYTHON_MODEL = "onnxruntime_model.py"  #: source of the ``python`` platform's model.py
#: a plain *file* named ``__pycache__`` beside model.py keeps Python (the backend stub) from
#: writing bytecode into the version folder; Triton reloads models whose folder changed when
#: an ensemble using them is loaded again (measured by deepclean.utils.triton)
PYCACHE_PLACEHOLDER = "__pycache__"
PYCACHE_PLACEHOLDER_TEXT = (
    "Placeholder file, not a folder: keeps Python from writing bytecode into this model version.\n"
)


@dataclass(frozen=True)
class ExportOptions:
    """Platform-specific export settings (defaults suit every platform)."""

    onnx_exporter: OnnxExporter = OnnxExporter.DYNAMO  #: ONNX, TensorRT and python platforms
    opset_version: int | None = None  #: ONNX opset; None: the exporter's default
    fp16: bool = False  #: TensorRT: allow half precision (loosen the verification rtol to match)
    workspace_bytes: int = 1 << 30  #: TensorRT builder workspace, bytes


def python_model_source() -> Path:
    """Path of the generic onnxruntime ``model.py`` shipped with this package."""
    return Path(str(resources.files("deepclean.utils.export.backend").joinpath(ONNX_PYTHON_MODEL)))


def check_platform_ready(platform: Platform, output_names: Sequence[str]) -> None:
    """Fail fast (before any file is written) on what would make ``platform``'s export fail."""
    if platform is Platform.TENSORRT:
        require_tensorrt()
    if platform is Platform.TORCHSCRIPT:
        check_output_names(output_names)


def export_artifact(
    platform: Platform,
    module: torch.nn.Module,
    directory: Path,
    example: Mapping[str, np.ndarray],
    output_names: Sequence[str],
    dynamic_axes: Mapping[str, Sequence[int]],
    *,
    options: ExportOptions = ExportOptions(),
    max_batch_size: int = 0,
) -> Runner:
    """Write ``module`` for ``platform`` into ``directory``; return a runner over the artifact."""
    directory = Path(directory)
    if platform in (Platform.ONNX, Platform.PYTHON, Platform.TENSORRT):
        onnx_path = directory / "model.onnx"
        export_onnx(
            module,
            onnx_path,
            example,
            output_names,
            dynamic_axes,
            exporter=options.onnx_exporter,
            opset_version=options.opset_version,
        )
        if platform is Platform.PYTHON:
            shutil.copyfile(python_model_source(), directory / "model.py")
            (directory / PYCACHE_PLACEHOLDER).write_text(PYCACHE_PLACEHOLDER_TEXT)
        if platform is not Platform.TENSORRT:
            return onnx_runner(onnx_path, output_names)
        plan_path = directory / "model.plan"
        build_plan(
            onnx_path,
            plan_path,
            _profiles(example, dynamic_axes, max_batch_size),
            fp16=options.fp16,
            workspace_bytes=options.workspace_bytes,
        )
        onnx_path.unlink()
        return plan_runner(plan_path, output_names)
    if platform is Platform.TORCHSCRIPT:
        path = directory / "model.pt"
        export_torchscript(module, path, example)
        return torchscript_runner(path, output_names)
    raise ValueError(f"platform {platform.value!r} exports no torch module")


def _profiles(
    example: Mapping[str, np.ndarray],
    dynamic_axes: Mapping[str, Sequence[int]],
    max_batch_size: int,
):
    """TensorRT optimisation profile: batch axis 1..max_batch_size (opt at max), other axes as the
    example."""
    profiles = {}
    for name, array in example.items():
        shape = tuple(int(d) for d in array.shape)
        low, high = list(shape), list(shape)
        if 0 in dynamic_axes.get(name, ()):
            low[0], high[0] = 1, max(max_batch_size, shape[0])
        profiles[name] = (tuple(low), tuple(high), tuple(high))
    return profiles
