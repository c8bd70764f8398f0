"""Torch module -> ONNX file, and an onnxruntime runner for verification.

The default exporter is torch's dynamo exporter (``torch.onnx.export(..., dynamo=True)``,
via ``torch.export`` and onnxscript), without onnxscript's graph optimizer (it treats
constants below 1e-8 as zero, which breaks strain-scale models), written as a single file
(no external data) with
dynamic axes where the input shape says ``None``; all inputs share one ``batch`` dimension
on axis 0. The legacy TorchScript-based exporter is available as
:attr:`OnnxExporter.TORCHSCRIPT` (faster; deprecated by torch).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from deepclean.utils.export.platform import OnnxExporter
from deepclean.utils.export.verify import Runner

logger = logging.getLogger(__name__)


def _dim_name(input_name: str, axis: int) -> str:
    if axis == 0:
        return "batch"
    return re.sub(r"\W", "_", f"{input_name}_{axis}")


def _dynamic_shapes(
    input_names: Sequence[str], dynamic_axes: Mapping[str, Sequence[int]]
) -> tuple[dict | None, ...]:
    """The dynamo exporter's ``dynamic_shapes``: per input, its varying axes (one
    :class:`torch.export.Dim` per name, shared between inputs), or None."""
    dims: dict[str, torch.export.Dim] = {}
    dynamic_shapes = []
    for name in input_names:
        spec = {}
        for axis in dynamic_axes.get(name, ()):
            key = _dim_name(name, axis)
            spec[axis] = dims.setdefault(key, torch.export.Dim(key))
        dynamic_shapes.append(spec or None)
    return tuple(dynamic_shapes)


def export_onnx(
    module: torch.nn.Module,
    path: Path,
    example: Mapping[str, np.ndarray],
    output_names: Sequence[str],
    dynamic_axes: Mapping[str, Sequence[int]],
    *,
    exporter: OnnxExporter = OnnxExporter.DYNAMO,
    opset_version: int | None = None,
) -> None:
    """Write ``module`` as ONNX to ``path``; inputs named and ordered as ``example``.

    Args:
        dynamic_axes: per input, the axes that vary at inference time (axis 0 is the
            shared batch axis).
    """
    args = tuple(torch.from_numpy(np.ascontiguousarray(x)) for x in example.values())
    input_names = list(example)
    # what both exporters are told alike: the module, its inputs, the file, names and opset
    common = {
        "f": str(path),
        "input_names": input_names,
        "output_names": list(output_names),
        "opset_version": opset_version,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if exporter is OnnxExporter.DYNAMO:
            torch.onnx.export(
                module,
                args,
                **common,
                dynamic_shapes=_dynamic_shapes(input_names, dynamic_axes),
                dynamo=True,
                external_data=False,
                # onnxscript's optimizer matches pattern constants with abs_tol 1e-8, so it
                # deletes e.g. "x + 1e-23" as "x + 0": wrong for strain-scale (1e-21) models.
                # onnxruntime optimises the graph itself when it loads it.
                optimize=False,
                verbose=False,
            )
        else:
            axes: dict[str, dict[int, str]] = {
                name: {axis: _dim_name(name, axis) for axis in dynamic_axes.get(name, ())}
                for name in input_names
            }
            if any(0 in a for a in axes.values()):
                axes.update({name: {0: "batch"} for name in output_names})
            torch.onnx.export(
                module,
                args,
                **common,
                dynamic_axes={k: v for k, v in axes.items() if v},
                dynamo=False,
            )
    for w in caught:
        logger.debug("torch.onnx.export: %s", w.message)


def onnx_runner(path: Path, output_names: Sequence[str], *, threads: int | None = None) -> Runner:
    """An onnxruntime (CPU) session on ``path`` as a :data:`Runner`."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = list(output_names)

    def run(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(names, session.run(names, dict(inputs))))

    return run
