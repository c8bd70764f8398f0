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
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tritonclient.grpc import model_config_pb2 as pb

from deepclean.utils.errors import ExportError
from deepclean.utils.export import config as cfg
from deepclean.utils.export.ensemble import add_step
from deepclean.utils.export.platform import InstanceKind, Platform

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
        version (:func:`deepclean.utils.export.exporting.export_python`)."""
        from deepclean.utils.export.exporting import export_python

        return export_python(self, source, version=version, files=files)

    def export_version(self, module: torch.nn.Module | None = None, **arguments: Any) -> Path:
        """Export ``module`` as a new version, verify it, and return the artifact's path:
        :func:`deepclean.utils.export.exporting.export_version`, where the keyword ``arguments``
        (``version``, ``input_shapes``, ``output_names``, ``example_inputs``, ``verification``,
        ``options``) are described."""
        from deepclean.utils.export.exporting import export_version

        return export_version(self, module, **arguments)
