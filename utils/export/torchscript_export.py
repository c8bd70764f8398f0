"""Torch module -> TorchScript file (``pytorch_libtorch``), and a runner for verification.

The module is traced with ``torch.jit.trace`` (deprecated by torch in favour of
``torch.export``, but TorchScript is what Triton's libtorch backend loads). Tracing freezes
Python control flow; verification at several batch sizes catches shapes baked in.
Triton's libtorch backend maps outputs by position, so output names must end in
``__<index>`` (``output__0``).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from deepclean.utils.export.verify import Runner

logger = logging.getLogger(__name__)
_OUTPUT_NAME = re.compile(r".+__(\d+)$")


def check_output_names(output_names: Sequence[str]) -> None:
    """Raise ValueError unless output ``i`` is named ``<name>__<i>``."""
    for index, name in enumerate(output_names):
        match = _OUTPUT_NAME.match(name)
        if not match or int(match.group(1)) != index:
            raise ValueError(
                f"TorchScript output {index} is named {name!r}; Triton's libtorch backend needs "
                f"'<name>__{index}' (e.g. 'output__{index}')"
            )


def export_torchscript(
    module: torch.nn.Module, path: Path, example: Mapping[str, np.ndarray]
) -> None:
    """Trace ``module`` on ``example`` (inputs in order) and save it to ``path``."""
    args = tuple(torch.from_numpy(np.ascontiguousarray(x)) for x in example.values())
    with warnings.catch_warnings(record=True) as caught, torch.no_grad():
        warnings.simplefilter("always")
        traced = torch.jit.trace(module, args, check_trace=False)
        traced.save(str(path))
    for w in caught:
        logger.debug("torch.jit.trace: %s", w.message)


def torchscript_runner(path: Path, output_names: Sequence[str]) -> Runner:
    """The saved TorchScript module as a :data:`Runner` (inputs passed positionally)."""
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", DeprecationWarning
        )  # torch.jit.load is deprecated, still what libtorch loads
        loaded = torch.jit.load(str(path), map_location="cpu")
    names = list(output_names)

    def run(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        with torch.no_grad():
            result = loaded(*(torch.from_numpy(np.ascontiguousarray(x)) for x in inputs.values()))
        outputs = list(result) if isinstance(result, (tuple, list)) else [result]
        return {name: out.numpy() for name, out in zip(names, outputs)}

    return run
