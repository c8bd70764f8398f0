"""Verification of an exported artifact against the torch module it came from.

After every export the artifact is run on example inputs (given, or generated from the
input shapes: standard normal, fixed seed) at one or more batch sizes and compared with
the source module. An export passes when every output is finite and, per output,
``max|exported - torch| <= atol + rtol * max|torch|`` (tolerance relative to the signal
scale, so outputs of magnitude 1e-21 such as strain are judged fairly). The worst
absolute and relative error (``max|d| / max|torch|``) and the median latency of the
artifact per batch size go to a status file (``export_status.json``) beside the artifact.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from deepclean.utils.errors import ExportError

logger = logging.getLogger(__name__)

STATUS_FILENAME = "export_status.json"
#: inputs -> outputs of an exported artifact, both keyed by tensor name
Runner = Callable[[Mapping[str, np.ndarray]], Mapping[str, np.ndarray]]
Shape = Sequence[int | None]


@dataclass(frozen=True)
class Verification:
    """How an export is checked.

    An output passes when it is finite and ``max|exported - torch| <= atol + rtol * max|torch|``.
    """

    atol: float = 0.0  #: absolute tolerance, in the output's units
    rtol: float = 1e-4  #: tolerance relative to the largest reference output magnitude
    batch_sizes: tuple[int, ...] | None = None  #: None: 1 and max_batch_size (or 1 and 2)
    repeats: int = 3  #: timed runs per batch size (after one warm-up run) for the latency
    seed: int = 0  #: seed of the generated example inputs


class VerificationError(ExportError):
    """The exported artifact disagrees with its source module, or produced NaN/Inf."""


def example_inputs(
    shapes: Mapping[str, Shape],
    batch_size: int | None,
    *,
    seed: int = 0,
    dtype: np.dtype = np.float32,
) -> dict[str, np.ndarray]:
    """Standard-normal inputs of ``shapes`` with a ``None`` leading axis set to ``batch_size``."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, shape in shapes.items():
        dims = []
        for axis, dim in enumerate(shape):
            if dim is None and axis == 0 and batch_size is not None:
                dims.append(batch_size)
            elif dim is None or dim < 1:
                raise ExportError(
                    f"input {name!r} has variable axis {axis} in shape {tuple(shape)}; "
                    "give example_inputs so it can be exported and verified"
                )
            else:
                dims.append(int(dim))
        arrays[name] = rng.standard_normal(dims).astype(dtype)
    return arrays


def run_module(
    module: torch.nn.Module, inputs: Mapping[str, np.ndarray], output_names: Sequence[str]
) -> dict[str, np.ndarray]:
    """Run ``module`` on ``inputs`` (positional, in order) and name its outputs."""
    with torch.no_grad():
        result = module(*(torch.from_numpy(np.ascontiguousarray(x)) for x in inputs.values()))
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    if len(outputs) != len(output_names) or not all(isinstance(o, torch.Tensor) for o in outputs):
        raise ExportError(
            f"module returned {len(outputs)} output(s) of types "
            f"{[type(o).__name__ for o in outputs]}; "
            f"expected {len(output_names)} tensor(s) named {list(output_names)}"
        )
    return {name: out.detach().cpu().numpy() for name, out in zip(output_names, outputs)}


@dataclass
class BatchCheck:
    """Verification figures of one example batch."""

    batch_size: int | None  #: leading-axis size, or None when the inputs have no batch axis
    latency_ms: float  #: median wall time of one run of the exported artifact, ms
    max_abs_error: dict[str, float] = field(default_factory=dict)  #: per output
    max_rel_error: dict[str, float] = field(
        default_factory=dict
    )  #: per output, relative to max|torch|
    problems: list[str] = field(default_factory=list)


@dataclass
class VerificationReport:
    atol: float
    rtol: float
    batches: list[BatchCheck]

    @property
    def passed(self) -> bool:
        return not any(b.problems for b in self.batches)

    @property
    def worst_abs_error(self) -> float:
        return max((e for b in self.batches for e in b.max_abs_error.values()), default=0.0)

    @property
    def worst_rel_error(self) -> float:
        return max((e for b in self.batches for e in b.max_rel_error.values()), default=0.0)

    def as_dict(self) -> dict:
        return {
            "passed": self.passed,
            "atol": self.atol,
            "rtol": self.rtol,
            "worst_abs_error": self.worst_abs_error,
            "worst_rel_error": self.worst_rel_error,
            "batches": [asdict(b) for b in self.batches],
        }


def compare(
    reference: Mapping[str, np.ndarray],
    exported: Mapping[str, np.ndarray],
    *,
    atol: float,
    rtol: float,
) -> tuple[dict[str, float], dict[str, float], list[str]]:
    """Worst absolute and relative errors per output, and a list of problems (empty if it
    passes)."""
    abs_err, rel_err, problems = {}, {}, []
    for name, ref in reference.items():
        if name not in exported:
            problems.append(
                f"output {name!r} missing from the exported model's outputs {sorted(exported)}"
            )
            continue
        out = np.asarray(exported[name])
        if out.shape != ref.shape:
            problems.append(
                f"output {name!r} has shape {out.shape}; the torch module gives {ref.shape}"
            )
            continue
        if not np.all(np.isfinite(ref)):
            problems.append(f"output {name!r} of the source torch module holds NaN/Inf")
            continue
        if not np.all(np.isfinite(out)):
            problems.append(f"output {name!r} of the exported model holds NaN/Inf")
            abs_err[name] = rel_err[name] = math.inf
            continue
        ref64, out64 = ref.astype(np.float64), out.astype(np.float64)
        diff = float(np.max(np.abs(out64 - ref64), initial=0.0))
        scale = float(np.max(np.abs(ref64), initial=0.0))
        abs_err[name] = diff
        rel_err[name] = diff / scale if scale > 0 else (0.0 if diff == 0 else math.inf)
        if diff > atol + rtol * scale:
            problems.append(
                f"output {name!r}: max abs error {diff:.3g} exceeds atol {atol:g} + rtol "
                f"{rtol:g} * "
                f"max|torch| {scale:.3g} (relative error {rel_err[name]:.3g})"
            )
    return abs_err, rel_err, problems


def verify(
    runner: Runner,
    module: torch.nn.Module,
    examples: Sequence[Mapping[str, np.ndarray]],
    output_names: Sequence[str],
    *,
    atol: float,
    rtol: float,
    repeats: int = 3,
) -> VerificationReport:
    """Run ``runner`` and ``module`` on every example batch; raise VerificationError on failure."""
    if atol < 0 or rtol < 0:
        raise ValueError(f"atol {atol} and rtol {rtol} must be >= 0")
    checks = []
    for inputs in examples:
        first = next(iter(inputs.values()))
        batch = int(first.shape[0]) if first.ndim else None
        reference = run_module(module, inputs, output_names)
        try:
            exported = runner(inputs)  # first run doubles as warm-up
            times = []
            for _ in range(max(1, repeats)):
                start = time.perf_counter()
                runner(inputs)
                times.append(time.perf_counter() - start)
        except Exception as exc:
            raise VerificationError(
                f"running the exported model on inputs of batch size {batch} failed: {exc}"
            ) from exc
        abs_err, rel_err, problems = compare(reference, exported, atol=atol, rtol=rtol)
        check = BatchCheck(batch, 1e3 * float(np.median(times)), abs_err, rel_err, problems)
        logger.debug("verified batch size %s: %s", batch, check)
        checks.append(check)
    report = VerificationReport(atol, rtol, checks)
    if not report.passed:
        lines = [f"batch size {b.batch_size}: {p}" for b in checks for p in b.problems]
        raise VerificationError("exported model failed verification: " + "; ".join(lines))
    return report


def write_status(path: Path, status: Mapping) -> None:
    """Write the status JSON (``path`` is the file; callers place it in the version directory)."""
    Path(path).write_text(json.dumps(status, indent=2, sort_keys=True) + "\n")
