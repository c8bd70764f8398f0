"""Ensemble configs: steps with pinned versions, and a consistency check of the tensor graph.

In an ensemble step, ``input_map`` maps the step model's input name to an ensemble tensor
and ``output_map`` maps the step model's output name to an ensemble tensor. A step's
``model_version`` pins the version it runs; ``-1`` (Triton's "latest") is written when no
version is given -- callers of this library pass ``None`` for that.
"""

from __future__ import annotations

from collections.abc import Mapping

from tritonclient.grpc import model_config_pb2 as pb

LATEST = -1  #: Triton's model_version for "latest"; only ever written, never asked of callers


def add_step(
    config: pb.ModelConfig,
    model_name: str,
    *,
    version: int | None,
    input_map: Mapping[str, str],
    output_map: Mapping[str, str],
) -> pb.ModelEnsembling.Step:
    """Append a step running ``model_name`` (at ``version``, or the latest if None)."""
    if version is not None and (not isinstance(version, int) or version < 1):
        raise ValueError(
            f"step version for model {model_name!r} must be a positive integer or None, "
            f"got {version!r}"
        )
    if not input_map or not output_map:
        raise ValueError(
            f"step for model {model_name!r} needs a non-empty input_map and output_map"
        )
    produced = {t for s in config.ensemble_scheduling.step for t in s.output_map.values()}
    clash = produced & set(output_map.values())
    if clash:
        raise ValueError(f"ensemble tensor(s) {sorted(clash)} are already produced by another step")
    step = config.ensemble_scheduling.step.add(
        model_name=model_name, model_version=LATEST if version is None else version
    )
    step.input_map.update(dict(input_map))
    step.output_map.update(dict(output_map))
    return step


def check_ensemble(config: pb.ModelConfig) -> list[str]:
    """Problems of the ensemble's tensor graph (empty when it is consistent)."""
    problems = []
    steps = list(config.ensemble_scheduling.step)
    if not steps:
        problems.append("the ensemble has no steps")
    inputs = {t.name for t in config.input}
    produced = {t for s in steps for t in s.output_map.values()}
    consumed = {t for s in steps for t in s.input_map.values()}
    for step in steps:
        for model_input, tensor in step.input_map.items():
            if tensor not in inputs and tensor not in produced:
                problems.append(
                    f"step {step.model_name} input {model_input!r} reads tensor "
                    f"{tensor!r}, which is neither an "
                    "ensemble input nor any step's output"
                )
    for tensor in sorted(inputs - consumed):
        problems.append(f"ensemble input {tensor!r} feeds no step")
    for tensor in [t.name for t in config.output if t.name not in produced]:
        problems.append(f"ensemble output {tensor!r} is produced by no step")
    return problems
