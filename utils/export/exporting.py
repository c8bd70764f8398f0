"""Exporting a new version of a model: build it in a hidden temporary directory beside the
versions, verify it against the torch module, then rename it into place and write the
config; on any failure the temporary directory is removed (:class:`.model.Model`'s
``export_version`` and ``export_python`` call these)."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from deepclean.utils.errors import ExportError
from deepclean.utils.export import config as cfg
from deepclean.utils.export import specs
from deepclean.utils.export.ensemble import check_ensemble
from deepclean.utils.export.exporters import ExportOptions, check_platform_ready, export_artifact
from deepclean.utils.export.model import Model, Shape
from deepclean.utils.export.platform import Platform
from deepclean.utils.export.verify import STATUS_FILENAME, Verification, verify, write_status

logger = logging.getLogger(__name__)


def export_python(
    model: Model, source: Path, *, version: int | None = None, files: Sequence[Path] = ()
) -> Path:
    """Python platform: copy ``source`` as ``model.py`` (and ``files`` beside it) into a new
    version.

    For hand-written python-backend models (e.g. the streaming snapshotter): declare
    inputs, outputs and batching in ``config`` first. Nothing is verified. Returns the
    path of the new ``model.py``.
    """
    if model.platform is not Platform.PYTHON:
        raise ValueError(
            f"model {model.name} is {model.platform.value}; export_python needs platform python"
        )
    version = model._new_version(version)
    tmp = model._temp_dir(version)
    try:
        shutil.copyfile(source, tmp / "model.py")
        for extra in files:
            shutil.copyfile(extra, tmp / Path(extra).name)
        final = model._install(tmp, version)
    except BaseException:
        model._discard(tmp)
        raise
    logger.info("exported %s version %d (python model from %s)", model.name, version, source)
    return final / "model.py"


def export_version(
    model: Model,
    module: torch.nn.Module | None = None,
    *,
    version: int | None = None,
    input_shapes: Mapping[str, Shape] | None = None,
    output_names: Sequence[str] | None = None,
    example_inputs: Mapping[str, np.ndarray] | None = None,
    verification: Verification = Verification(),  # noqa: B008
    options: ExportOptions = ExportOptions(),  # noqa: B008
) -> Path:
    """Export ``module`` as a new version, verify it, and return the artifact's path.

    Args:
        module: the torch module (called with the inputs positionally, in the order of
            ``input_shapes``); None for an ensemble, whose export writes the config and
            an empty version directory (reusing the existing one if there is one).
        version: version number; None: the next one.
        input_shapes: shape per input name; ``None`` axes are dynamic. With
            ``config.max_batch_size > 0`` axis 0 is the batch axis and must be None.
            Default: from the config's inputs (when re-exporting).
        output_names: names of the module's outputs (required for several); default:
            the config's, else ``output`` (``output__0`` for TorchScript).
        example_inputs: inputs for verification (default: generated from the shapes
            at ``verification.batch_sizes``).
        verification: tolerances and batch sizes of the check after export.
        options: platform-specific export settings.

    Raises:
        ExportError: the export or its verification failed (nothing is left behind).
    """
    if model.platform is Platform.ENSEMBLE:
        return _export_ensemble(model, module, version)
    _check_exportable(model, module)
    shapes = specs.input_shapes(model.config, input_shapes)
    names = specs.output_names(model.config, model.platform, output_names)
    check_platform_ready(model.platform, names)
    version = model._new_version(version)
    examples = specs.example_batches(
        shapes, example_inputs, verification, model.config.max_batch_size
    )
    trace = specs.trace_batch(shapes, examples[0])
    build = _Build(model, module, version, shapes, names, trace, examples, verification, options)
    final, export_seconds, report = _build_in_eval_mode(build)
    logger.info(
        "exported %s version %d as %s in %.1f s; worst abs error %.3g, rel error %.3g",
        model.name,
        version,
        model.platform.value,
        export_seconds,
        report.worst_abs_error,
        report.worst_rel_error,
    )
    return final / str(model.platform.model_filename)


def _check_exportable(model: Model, module: torch.nn.Module | None) -> None:
    """``ValueError`` unless ``module`` is a torch module this (non-ensemble) model can export."""
    if model.platform is Platform.PYTHON and module is None:
        raise ValueError(
            f"model {model.name}: give a torch module, or use export_python() for a "
            "hand-written model.py"
        )
    if not isinstance(module, torch.nn.Module):
        raise ValueError(
            f"model {model.name} ({model.platform.value}) needs a torch.nn.Module to "
            f"export, got {module!r}"
        )


@dataclass(frozen=True, eq=False)
class _Build:
    """One version being exported: what is built, from what, and how it is checked."""

    model: Model
    module: torch.nn.Module
    version: int
    shapes: Mapping[str, Shape]  #: per input name; ``None`` axes are dynamic
    names: Sequence[str]  #: output names
    trace: specs.Batch  #: the batch the module is traced or exported with
    examples: Sequence[specs.Batch]  #: the batches the export is verified on
    verification: Verification
    options: ExportOptions


def _build_in_eval_mode(build: _Build) -> tuple[Path, float, object]:
    """:func:`_build_version` in a new temporary directory with the module in eval mode (each
    submodule's mode restored afterwards); on failure the directory is removed and any
    error other than :class:`ExportError` is raised as one."""
    model, module, version = build.model, build.module, build.version
    modes = {m: m.training for m in module.modules()}  # restored per submodule afterwards
    module.eval()
    tmp = model._temp_dir(version)
    try:
        return _build_version(build, tmp)
    except BaseException as exc:
        model._discard(tmp)
        if isinstance(exc, Exception) and not isinstance(exc, ExportError):
            raise ExportError(
                f"exporting {model.name} version {version} as {model.platform.value} failed: {exc}"
            ) from exc
        raise
    finally:
        for submodule, mode in modes.items():
            submodule.training = mode


def _build_version(build: _Build, tmp: Path) -> tuple[Path, float, object]:
    """Export into ``tmp``, verify against the module, write the status file and install the
    version; ``(final directory, export seconds, verification report)``."""
    model, module = build.model, build.module
    dynamic = {
        name: [axis for axis, d in enumerate(shape) if d is None]
        for name, shape in build.shapes.items()
    }
    started = time.perf_counter()
    in_specs, out_specs = specs.tensor_specs(
        module,
        build.shapes,
        [build.trace, *build.examples],
        build.names,
        model.config.max_batch_size,
    )
    _check_same_tensors(model, in_specs, out_specs)
    runner = export_artifact(
        model.platform,
        module,
        tmp,
        build.trace,
        build.names,
        dynamic,
        options=build.options,
        max_batch_size=model.config.max_batch_size,
    )
    export_seconds = time.perf_counter() - started
    report = verify(
        runner,
        module,
        build.examples,
        build.names,
        atol=build.verification.atol,
        rtol=build.verification.rtol,
        repeats=build.verification.repeats,
    )
    write_status(
        tmp / STATUS_FILENAME,
        {
            "model": model.name,
            "version": build.version,
            "platform": model.platform.value,
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "export_seconds": round(export_seconds, 3),
            "onnx_exporter": build.options.onnx_exporter.value
            if model.platform is not Platform.TORCHSCRIPT
            else None,
            "torch_version": torch.__version__,
            "verification": report.as_dict(),
        },
    )
    cfg.set_tensors(model.config, in_specs, out_specs)
    final = model._install(tmp, build.version)
    return final, export_seconds, report


def _export_ensemble(model: Model, module: object, version: int | None) -> Path:
    if module is not None:
        raise ValueError(
            f"model {model.name} is an ensemble; export_version takes no module for it"
        )
    problems = check_ensemble(model.config)
    if problems:
        raise ExportError(f"ensemble {model.name} is inconsistent: " + "; ".join(problems))
    if version is None and model.versions:
        model.write_config()
        return model.path / str(model.versions[-1])
    version = model._new_version(version)
    tmp = model._temp_dir(version)
    try:
        return model._install(tmp, version)
    except BaseException:
        model._discard(tmp)
        raise


def _check_same_tensors(
    model: Model, inputs: list[cfg.TensorSpec], outputs: list[cfg.TensorSpec]
) -> None:
    if not model.versions or not (model.config.input or model.config.output):
        return
    old = (cfg.inputs_of(model.config), cfg.outputs_of(model.config))
    if old != (inputs, outputs):
        describe = lambda tensors: ", ".join(t.describe() for t in tensors)  # noqa: E731
        raise ExportError(
            f"model {model.name} versions {model.versions} have inputs "
            f"[{describe(old[0])}] and outputs "
            f"[{describe(old[1])}]; this export has [{describe(inputs)}] and "
            f"[{describe(outputs)}]. All versions "
            "share one config: export to a new model instead"
        )
