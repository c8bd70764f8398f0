"""ONNX file -> TensorRT plan (``tensorrt_plan``), and a runner for verification.

A TensorRT plan only runs with the TensorRT version that built it, on the kind of GPU it
was built on, so plans must be built on the serving GPU with the TensorRT of the serving
Triton image. Where the ``tensorrt`` package is missing (this CPU machine),
:func:`require_tensorrt` raises a clear :class:`ExportError`.

UNTESTED: :func:`build_plan` and :func:`plan_runner` follow the TensorRT 10 Python API
(with the explicit-batch flag for TensorRT 8) but have never run here -- this machine has
neither a GPU nor ``tensorrt``. Only the missing-package error is tested.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from deepclean.utils.errors import ExportError
from deepclean.utils.export.verify import Runner

logger = logging.getLogger(__name__)

#: per input: (min, opt, max) shapes of the optimisation profile
Profiles = Mapping[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]

MISSING_TENSORRT = (
    "platform tensorrt_plan needs the Python package 'tensorrt', which is not installed here; "
    "a TensorRT plan must be built on the serving GPU with the TensorRT version of the serving "
    "Triton image (e.g. run this export inside that image on that GPU node), or export with "
    "platform onnxruntime_onnx instead"
)


def require_tensorrt() -> ModuleType:
    """Import ``tensorrt`` or raise ExportError saying what is missing and where plans are built."""
    try:
        import tensorrt
    except ImportError as exc:
        raise ExportError(MISSING_TENSORRT) from exc
    return tensorrt


def build_plan(
    onnx_path: Path,
    plan_path: Path,
    profiles: Profiles,
    *,
    fp16: bool = False,
    workspace_bytes: int = 1 << 30,
) -> None:
    """Build a serialized TensorRT engine from ``onnx_path`` into ``plan_path``. UNTESTED here."""
    trt = require_tensorrt()
    trt_logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(trt_logger)
    flags = 0
    if hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH"):  # needed before TensorRT 10
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, trt_logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ExportError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for name, (low, opt, high) in profiles.items():
        profile.set_shape(name, low, opt, high)
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ExportError(
            f"TensorRT failed to build an engine from {onnx_path}; see the TensorRT log above"
        )
    Path(plan_path).write_bytes(bytes(serialized))
    logger.info("built TensorRT %s plan %s (fp16=%s)", trt.__version__, plan_path, fp16)


def plan_runner(plan_path: Path, output_names: Sequence[str]) -> Runner:
    """The plan as a :data:`Runner` on the current CUDA device (via torch tensors). UNTESTED
    here."""
    trt = require_tensorrt()
    if not torch.cuda.is_available():
        raise ExportError(
            f"verifying TensorRT plan {plan_path} needs a CUDA GPU visible to torch; none found"
        )
    runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
    engine = runtime.deserialize_cuda_engine(Path(plan_path).read_bytes())
    if engine is None:
        raise ExportError(f"TensorRT could not deserialize {plan_path}")
    context = engine.create_execution_context()

    def run(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        keep = []
        for name, array in inputs.items():
            tensor = torch.from_numpy(np.ascontiguousarray(array)).cuda()
            keep.append(tensor)
            context.set_input_shape(name, tuple(tensor.shape))
            context.set_tensor_address(name, tensor.data_ptr())
        outputs = {}
        for name in output_names:
            dtype = torch.from_numpy(
                np.empty(0, dtype=trt.nptype(engine.get_tensor_dtype(name)))
            ).dtype
            out = torch.empty(tuple(context.get_tensor_shape(name)), dtype=dtype, device="cuda")
            context.set_tensor_address(name, out.data_ptr())
            outputs[name] = out
        stream = torch.cuda.current_stream()
        if not context.execute_async_v3(stream.cuda_stream):
            raise ExportError(f"TensorRT execution of {plan_path} failed")
        stream.synchronize()
        return {name: out.cpu().numpy() for name, out in outputs.items()}

    return run
