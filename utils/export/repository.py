"""A Triton model repository on disk: ``<root>/<model>/config.pbtxt`` and
``<root>/<model>/<version>/``.

An existing repository is read back from its ``config.pbtxt`` files. A model created with
:meth:`ModelRepository.create_model` lives in memory until its first export (or
:meth:`Model.write_config`) writes it. :meth:`ModelRepository.transaction` makes a group of
exports all-or-nothing.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deepclean.utils.export import config as cfg
from deepclean.utils.export.model import Model
from deepclean.utils.export.platform import Platform
from deepclean.utils.files import atomic_write_bytes

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class ModelRepository:
    """The models of the repository at ``root`` (created if missing).

    ``models`` maps names to :class:`Model`; ``repo[name]`` and ``name in repo`` work too.
    """

    def __init__(self, root: Path | str) -> None:
        self.path = Path(root)
        self.path.mkdir(parents=True, exist_ok=True)
        self.models: dict[str, Model] = {}
        self.refresh()

    def __repr__(self) -> str:
        return f"ModelRepository({str(self.path)!r}, models={sorted(self.models)})"

    def __getitem__(self, name: str) -> Model:
        try:
            return self.models[name]
        except KeyError:
            raise KeyError(
                f"no model {name!r} in {self.path}; models: {sorted(self.models)}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self.models

    def __iter__(self) -> Iterator[Model]:
        return iter(self.models.values())

    def refresh(self) -> None:
        """Re-read every ``<model>/config.pbtxt`` (in-memory models not yet written are dropped)."""
        models = {}
        for folder in sorted(
            p for p in self.path.iterdir() if p.is_dir() and not p.name.startswith(".")
        ):
            path = folder / cfg.CONFIG_FILENAME
            if not path.is_file():
                logger.warning("skipping %s: no %s", folder, cfg.CONFIG_FILENAME)
                continue
            config = cfg.read_config(path)
            if config.name and config.name != folder.name:
                raise ValueError(
                    f"{path} names model {config.name!r}; Triton needs it to match its "
                    f"folder {folder.name!r}"
                )
            config.name = folder.name
            models[folder.name] = Model(self, config)
        self.models = models

    def create_model(self, name: str, platform: Platform | str, *, force: bool = False) -> Model:
        """A new model ``name`` on ``platform``.

        Raises ValueError if ``name`` exists, unless ``force``: then the first free name of
        ``name_0``, ``name_1``, ... is used.
        """
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(
                f"model name {name!r} is not allowed; use letters, digits, '_', '-' and '.'"
            )
        platform = Platform.parse(platform)
        if self._taken(name):
            if not force:
                raise ValueError(f"model {name} already exists")
            name = next(
                f"{name}_{i}" for i in range(len(self.models) + 1) if not self._taken(f"{name}_{i}")
            )
        model = Model(self, cfg.new_config(name, platform))
        self.models[name] = model
        return model

    def _taken(self, name: str) -> bool:
        return name in self.models or (self.path / name).exists()

    def remove_model(self, name: str) -> None:
        """Delete model ``name`` and its directory."""
        model = self[name]
        shutil.rmtree(model.path, ignore_errors=True)
        del self.models[name]

    @contextmanager
    def transaction(self) -> Iterator[ModelRepository]:
        """On an exception inside the block, restore the repository on disk as it was.

        Model directories and versions created inside the block are removed and every
        ``config.pbtxt`` gets its old content back; then the models are re-read.
        """
        entries = set(self.path.iterdir())
        subdirs = {p for p in self.path.glob("*/*") if p.is_dir()}
        configs = {p: p.read_bytes() for p in self.path.glob(f"*/{cfg.CONFIG_FILENAME}")}
        try:
            yield self
        except BaseException:
            logger.warning("rolling back changes to %s", self.path)
            for path in set(self.path.iterdir()) - entries:
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(
                    missing_ok=True
                )
            for path in {p for p in self.path.glob("*/*") if p.is_dir()} - subdirs:
                shutil.rmtree(path, ignore_errors=True)
            for path in set(self.path.glob(f"*/{cfg.CONFIG_FILENAME}")) - set(configs):
                path.unlink(missing_ok=True)
            for path, content in configs.items():
                if not path.is_file() or path.read_bytes() != content:
                    atomic_write_bytes(path, content)
            self.refresh()
            raise
