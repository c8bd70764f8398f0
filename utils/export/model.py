"""One model of a Triton model repository: its config, its versions, and exporting new ones.

Config edits (``model.config`` is the ``ModelConfig`` protobuf, and the helper methods
below) stay in memory until :meth:`Model.write_config` or an export writes
``config.pbtxt``. Every export builds the new version in a hidden temporary directory
beside the versions, verifies it, and only then renames it into place and writes the
config; on any failure the temporary directory is removed, so no version directory is
left behind.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tritonclient.grpc import model_config_pb2 as pb

from deepclean.utils.errors import ExportError
from deepclean.utils.export import config as cfg
from deepclean.utils.export import specs
from deepclean.utils.export.ensemble import add_step, check_ensemble
from deepclean.utils.export.exporters import ExportOptions, check_platform_ready, export_artifact
from deepclean.utils.export.platform import InstanceKind, Platform
from deepclean.utils.export.verify import STATUS_FILENAME, Verification, verify, write_status

if TYPE_CHECKING:
    from deepclean.utils.export.repository import ModelRepository

logger = logging.getLogger(__name__)

Shape = Sequence[int | None]


class Model:
    """A model directory ``<repository>/<name>/`` with ``config.pbtxt`` and numbered versions.

    Created by :meth:`ModelRepository.create_model` or read back by :class:`ModelRepository`.
    """

    def __init__(self, repository: ModelRepository, config: pb.ModelConfig) -> None:
        Platform.of_config(config)  # raises ValueError for a platform this library does not handle
        self.repository = repository
        self.config = config

    def __repr__(self) -> str:
        return f"Model({self.name!r}, platform={self.platform.value!r}, versions={self.versions})"

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def platform(self) -> Platform:
        """The platform the config declares (``platform``, or ``backend: "python"``)."""
        return Platform.of_config(self.config)

    @property
    def path(self) -> Path:
        return self.repository.path / self.name

    @property
    def versions(self) -> list[int]:
        """Version numbers present on disk, ascending."""
        if not self.path.is_dir():
            return []
        return sorted(
            int(p.name)
            for p in self.path.iterdir()
            if p.is_dir() and p.name.isdigit() and int(p.name) > 0
        )

    @property
    def next_version(self) -> int:
        return max(self.versions, default=0) + 1

    @property
    def inputs(self) -> dict[str, cfg.TensorSpec]:
        return {t.name: t for t in cfg.inputs_of(self.config)}

    @property
    def outputs(self) -> dict[str, cfg.TensorSpec]:
        return {t.name: t for t in cfg.outputs_of(self.config)}

    @property
    def parameters(self) -> dict[str, Any]:
        """The config's ``parameters``, decoded (see
        :func:`~deepclean.utils.export.config.get_parameters`)."""
        return cfg.get_parameters(self.config)

    # ------------------------------------------------------------------ config edits

    def write_config(self) -> Path:
        """Write ``config.pbtxt`` atomically; returns its path."""
        path = self.path / cfg.CONFIG_FILENAME
        self.path.mkdir(parents=True, exist_ok=True)
        cfg.write_config(self.config, path)
        return path

    def add_instance_group(
        self, kind: InstanceKind | str = InstanceKind.AUTO, count: int = 1, gpus: Sequence[int] = ()
    ) -> None:
        """Run ``count`` instances of ``kind`` (``"gpu"``, ``"cpu"``, ``"auto"``, ``"model"``)."""
        cfg.add_instance_group(self.config, kind, count, gpus)

    def set_instance_count(self, count: int, kind: InstanceKind | str = InstanceKind.AUTO) -> None:
        """Set every instance group to ``count`` instances (adding a ``kind`` group if there is
        none)."""
        if not self.config.instance_group:
            self.add_instance_group(kind, count)
            return
        if not isinstance(count, int) or count < 1:
            raise ValueError(f"instance count must be a positive integer, got {count!r}")
        for group in self.config.instance_group:
            group.count = count

    def set_parameters(self, parameters: Mapping[str, Any]) -> None:
        """Add or replace config ``parameters`` (strings as is, other values as JSON)."""
        cfg.set_parameters(self.config, parameters)

    def keep_versions(self, versions: Iterable[int]) -> None:
        """``version_policy: specific`` holding exactly ``versions``; each must exist on disk."""
        versions = list(versions)
        missing = sorted(set(versions) - set(self.versions))
        if missing:
            raise ValueError(
                f"model {self.name} has versions {self.versions}; cannot keep missing "
                f"version(s) {missing}"
            )
        cfg.set_specific_versions(self.config, versions)

    def add_input(self, name: str, dims: Shape, dtype: Any = np.float32) -> None:
        """Declare an input (``dims`` without the batch axis if ``max_batch_size > 0``; None =
        variable)."""
        if name in self.inputs:
            raise ValueError(f"model {self.name} already has an input {name!r}")
        self.config.input.append(cfg.TensorSpec.of(name, dims, dtype).input_proto())

    def add_output(self, name: str, dims: Shape, dtype: Any = np.float32) -> None:
        """Declare an output (dims as for :meth:`add_input`)."""
        if name in self.outputs:
            raise ValueError(f"model {self.name} already has an output {name!r}")
        self.config.output.append(cfg.TensorSpec.of(name, dims, dtype).output_proto())

    def add_step(
        self,
        model: Model | str,
        *,
        version: int | None = None,
        input_map: Mapping[str, str],
        output_map: Mapping[str, str],
    ) -> None:
        """Ensembles only: run ``model`` at ``version`` (None: latest) with tensors mapped by name.

        ``input_map``: step model input -> ensemble tensor; ``output_map``: step model output ->
        ensemble tensor. When ``model`` is a :class:`Model`, names and version are checked.
        """
        if self.platform is not Platform.ENSEMBLE:
            raise ValueError(
                f"model {self.name} is {self.platform.value}; only ensembles have steps"
            )
        if isinstance(model, Model):
            unknown = sorted(set(input_map) - set(model.inputs)) + sorted(
                set(output_map) - set(model.outputs)
            )
            if unknown:
                raise ValueError(
                    f"model {model.name} has inputs {sorted(model.inputs)} and outputs "
                    f"{sorted(model.outputs)}; "
                    f"step maps unknown tensor(s) {unknown}"
                )
            if isinstance(version, int) and version > 0 and version not in model.versions:
                raise ValueError(
                    f"model {model.name} has versions {model.versions}; cannot pin version "
                    f"{version}"
                )
        add_step(
            self.config,
            model if isinstance(model, str) else model.name,
            version=version,
            input_map=input_map,
            output_map=output_map,
        )

    # ------------------------------------------------------------------ versions

    def remove_version(self, version: int) -> None:
        """Delete version directory ``version`` (the config is left as is)."""
        if version not in self.versions:
            raise ValueError(
                f"model {self.name} has versions {self.versions}; no version {version}"
            )
        shutil.rmtree(self.path / str(version))

    def _new_version(self, version: int | None) -> int:
        if version is None:
            return self.next_version
        if not isinstance(version, int) or version < 1:
            raise ValueError(
                f"version must be a positive integer or None (next version), got {version!r}"
            )
        if version in self.versions:
            raise ExportError(
                f"model {self.name} already has version {version} at {self.path / str(version)}"
            )
        return version

    def _temp_dir(self, version: int) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".export-{version}-", dir=self.path))

    def _discard(self, tmp: Path) -> None:
        """Remove a temporary version directory, and the model directory if that leaves it empty."""
        shutil.rmtree(tmp, ignore_errors=True)
        if self.path.is_dir() and not any(self.path.iterdir()):
            self.path.rmdir()

    def _install(self, tmp: Path, version: int) -> Path:
        """Move a finished temporary version directory into place and write the config."""
        final = self.path / str(version)
        tmp.rename(final)
        try:
            self.write_config()
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
        return final

    def export_python(
        self, source: Path, *, version: int | None = None, files: Sequence[Path] = ()
    ) -> Path:
        """Python platform: copy ``source`` as ``model.py`` (and ``files`` beside it) into a new
        version.

        For hand-written python-backend models (e.g. the streaming snapshotter): declare
        inputs, outputs and batching in ``config`` first. Nothing is verified. Returns the
        path of the new ``model.py``.
        """
        if self.platform is not Platform.PYTHON:
            raise ValueError(
                f"model {self.name} is {self.platform.value}; export_python needs platform python"
            )
        version = self._new_version(version)
        tmp = self._temp_dir(version)
        try:
            shutil.copyfile(source, tmp / "model.py")
            for extra in files:
                shutil.copyfile(extra, tmp / Path(extra).name)
            final = self._install(tmp, version)
        except BaseException:
            self._discard(tmp)
            raise
        logger.info("exported %s version %d (python model from %s)", self.name, version, source)
        return final / "model.py"

    def export_version(
        self,
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
        if self.platform is Platform.ENSEMBLE:
            return self._export_ensemble(module, version)
        if self.platform is Platform.PYTHON and module is None:
            raise ValueError(
                f"model {self.name}: give a torch module, or use export_python() for a "
                "hand-written model.py"
            )
        if not isinstance(module, torch.nn.Module):
            raise ValueError(
                f"model {self.name} ({self.platform.value}) needs a torch.nn.Module to "
                f"export, got {module!r}"
            )
        shapes = specs.input_shapes(self.config, input_shapes)
        names = specs.output_names(self.config, self.platform, output_names)
        check_platform_ready(self.platform, names)
        version = self._new_version(version)
        examples = specs.example_batches(
            shapes, example_inputs, verification, self.config.max_batch_size
        )
        trace = specs.trace_batch(shapes, examples[0])
        dynamic = {
            name: [axis for axis, d in enumerate(shape) if d is None]
            for name, shape in shapes.items()
        }
        modes = {m: m.training for m in module.modules()}  # restored per submodule afterwards
        module.eval()
        tmp = self._temp_dir(version)
        try:
            started = time.perf_counter()
            in_specs, out_specs = specs.tensor_specs(
                module, shapes, [trace, *examples], names, self.config.max_batch_size
            )
            self._check_same_tensors(in_specs, out_specs)
            runner = export_artifact(
                self.platform,
                module,
                tmp,
                trace,
                names,
                dynamic,
                options=options,
                max_batch_size=self.config.max_batch_size,
            )
            export_seconds = time.perf_counter() - started
            report = verify(
                runner,
                module,
                examples,
                names,
                atol=verification.atol,
                rtol=verification.rtol,
                repeats=verification.repeats,
            )
            write_status(
                tmp / STATUS_FILENAME,
                {
                    "model": self.name,
                    "version": version,
                    "platform": self.platform.value,
                    "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "export_seconds": round(export_seconds, 3),
                    "onnx_exporter": options.onnx_exporter.value
                    if self.platform is not Platform.TORCHSCRIPT
                    else None,
                    "torch_version": torch.__version__,
                    "verification": report.as_dict(),
                },
            )
            cfg.set_tensors(self.config, in_specs, out_specs)
            final = self._install(tmp, version)
        except BaseException as exc:
            self._discard(tmp)
            if isinstance(exc, Exception) and not isinstance(exc, ExportError):
                raise ExportError(
                    f"exporting {self.name} version {version} as {self.platform.value} "
                    f"failed: {exc}"
                ) from exc
            raise
        finally:
            for submodule, mode in modes.items():
                submodule.training = mode
        logger.info(
            "exported %s version %d as %s in %.1f s; worst abs error %.3g, rel error %.3g",
            self.name,
            version,
            self.platform.value,
            export_seconds,
            report.worst_abs_error,
            report.worst_rel_error,
        )
        return final / str(self.platform.model_filename)

    # ------------------------------------------------------------------ helpers

    def _export_ensemble(self, module: object, version: int | None) -> Path:
        if module is not None:
            raise ValueError(
                f"model {self.name} is an ensemble; export_version takes no module for it"
            )
        problems = check_ensemble(self.config)
        if problems:
            raise ExportError(f"ensemble {self.name} is inconsistent: " + "; ".join(problems))
        if version is None and self.versions:
            self.write_config()
            return self.path / str(self.versions[-1])
        version = self._new_version(version)
        tmp = self._temp_dir(version)
        try:
            return self._install(tmp, version)
        except BaseException:
            self._discard(tmp)
            raise

    def _check_same_tensors(
        self, inputs: list[cfg.TensorSpec], outputs: list[cfg.TensorSpec]
    ) -> None:
        if not self.versions or not (self.config.input or self.config.output):
            return
        old = (cfg.inputs_of(self.config), cfg.outputs_of(self.config))
        if old != (inputs, outputs):
            describe = lambda tensors: ", ".join(t.describe() for t in tensors)  # noqa: E731
            raise ExportError(
                f"model {self.name} versions {self.versions} have inputs "
                f"[{describe(old[0])}] and outputs "
                f"[{describe(old[1])}]; this export has [{describe(inputs)}] and "
                f"[{describe(outputs)}]. All versions "
                "share one config: export to a new model instead"
            )
