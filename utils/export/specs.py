"""What an export needs besides the module: input shapes, output names, example batches,
and the config inputs/outputs derived from running the module.

Shapes use ``None`` for dynamic axes. With ``max_batch_size > 0`` axis 0 of every input and
output is the batch axis, which Triton leaves out of the config's ``dims``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from tritonclient.grpc import model_config_pb2 as pb

from deepclean.utils.errors import ExportError
from deepclean.utils.export.config import TensorSpec
from deepclean.utils.export.platform import Platform
from deepclean.utils.export.verify import Verification, example_inputs, run_module

Shape = Sequence[int | None]
Shapes = dict[str, tuple[int | None, ...]]
Batch = dict[str, np.ndarray]


def input_shapes(config: pb.ModelConfig, given: Mapping[str, Shape] | None) -> Shapes:
    """``given`` normalised (-1 -> None), or the config's inputs when None; checked against
    batching."""
    batched = config.max_batch_size > 0
    if given is None:
        if not config.input:
            raise ValueError(f"model {config.name} has no inputs in its config; give input_shapes")
        lead = (None,) if batched else ()
        given = {t.name: lead + tuple(None if d == -1 else d for d in t.dims) for t in config.input}
    shapes = {
        name: tuple(None if d is None or d == -1 else int(d) for d in shape)
        for name, shape in given.items()
    }
    if not shapes:
        raise ValueError("input_shapes is empty; give a shape per input")
    for name, shape in shapes.items():
        if batched and (not shape or shape[0] is not None):
            raise ValueError(
                f"input {name!r} has shape {shape}; with max_batch_size {config.max_batch_size} "
                "axis 0 is the batch axis and must be None"
            )
    return shapes


def output_names(
    config: pb.ModelConfig, platform: Platform, given: Sequence[str] | None
) -> list[str]:
    """``given``, else the config's output names, else ``output`` (``output__0`` for
    TorchScript)."""
    if given is not None:
        if not given or len(set(given)) != len(given):
            raise ValueError(f"output_names {list(given)} must be one or more distinct names")
        return list(given)
    if config.output:
        return [t.name for t in config.output]
    return ["output__0" if platform is Platform.TORCHSCRIPT else "output"]


def example_batches(
    shapes: Shapes,
    given: Mapping[str, np.ndarray] | None,
    verification: Verification,
    max_batch_size: int,
) -> list[Batch]:
    """The verification inputs: ``given``, or generated at ``verification.batch_sizes``."""
    if given is not None:
        if set(given) != set(shapes):
            raise ValueError(
                f"example_inputs has inputs {sorted(given)}; expected {sorted(shapes)}"
            )
        return [{name: np.asarray(given[name]) for name in shapes}]
    if not all(s and s[0] is None for s in shapes.values()):
        return [example_inputs(shapes, None, seed=verification.seed)]
    sizes = verification.batch_sizes or sorted({1, max_batch_size if max_batch_size > 0 else 2})
    if max_batch_size > 0 and max(sizes) > max_batch_size:
        raise ValueError(
            f"verification batch sizes {list(sizes)} exceed max_batch_size {max_batch_size}"
        )
    return [
        example_inputs(shapes, size, seed=verification.seed + i) for i, size in enumerate(sizes)
    ]


def trace_batch(shapes: Shapes, example: Batch) -> Batch:
    """The example used for export: batch 2 where axis 0 is dynamic (torch.export specialises 0 and
    1)."""
    trace = {}
    for name, shape in shapes.items():
        array = np.asarray(example[name])
        if shape and shape[0] is None and array.shape[0] not in (0, 2):
            array = np.resize(array, (2, *array.shape[1:]))
        trace[name] = np.ascontiguousarray(array)
    return trace


def tensor_specs(
    module: torch.nn.Module,
    shapes: Shapes,
    batches: Sequence[Batch],
    names: Sequence[str],
    max_batch_size: int,
) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """Config inputs from ``shapes``; outputs from running ``module`` on ``batches`` (axes that
    differ between batches become dynamic)."""
    skip = 1 if max_batch_size > 0 else 0
    first = batches[0]
    inputs = [TensorSpec.of(n, s[skip:], first[n].dtype) for n, s in shapes.items()]
    runs = [(batch, run_module(module, batch, names)) for batch in batches]
    outputs = []
    for name in names:
        arrays = [out[name] for _, out in runs]
        if max_batch_size > 0:
            for batch, out in runs:
                size = next(iter(batch.values())).shape[0]
                if out[name].ndim == 0 or out[name].shape[0] != size:
                    raise ExportError(
                        f"output {name!r} has shape {out[name].shape} for a batch of "
                        f"{size}; with max_batch_size "
                        f"{max_batch_size} every output must have the batch axis first"
                    )
        if len({a.ndim for a in arrays}) > 1:
            raise ExportError(f"output {name!r} changes rank between example batches")
        dims = [
            d if len({a.shape[i] for a in arrays}) == 1 else None
            for i, d in enumerate(arrays[0].shape)
        ]
        outputs.append(TensorSpec.of(name, dims[skip:], arrays[0].dtype))
    return inputs, outputs
