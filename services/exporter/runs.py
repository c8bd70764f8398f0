"""Training runs under ``$PROJECT_DIR/train``: finding the newest, and checking one before it is
exported.

A run is a directory ``<start>-<end>`` holding ``weights.pt`` and ``metadata.json`` (written by
``deepclean train`` and the trainer). Every check here happens before the repository is
touched; a failure is a :class:`RequestError` carrying the HTTP status to answer with.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from deepclean.services.exporter.export import TrainedModel, load_trained
from deepclean.services.exporter.settings import Architecture
from deepclean.utils.channels import ChannelList
from deepclean.utils.errors import ConfigError, DeepCleanError, TrainingError
from deepclean.utils.ifo import IFO
from deepclean.utils.training.artifacts import METADATA_FILE, WEIGHTS_FILE, read_metadata

RUN_DIR = re.compile(r"^(\d+)-(\d+)$")


class RequestError(DeepCleanError):
    """A request that cannot be carried out; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def newest_run(train_dir: Path) -> Path | None:
    """The successful run with the latest end (then start) under ``train_dir``, resolved; None if
    there is none."""
    if not train_dir.is_dir():
        return None
    runs = []
    for folder in train_dir.iterdir():
        match = RUN_DIR.match(folder.name)
        if (
            match
            and folder.is_dir()
            and (folder / WEIGHTS_FILE).is_file()
            and (folder / METADATA_FILE).is_file()
        ):
            runs.append(((int(match[2]), int(match[1])), folder))
    return max(runs)[1].resolve() if runs else None


def resolve_run(model_dir: Any, train_dir: Path) -> Path:
    """The run directory named by a request's ``model_dir`` (absolute, or relative to
    ``train_dir``), resolved.

    Raises RequestError: 400 when it is not a path inside ``train_dir`` after resolving ``..`` and
    symlinks (its files included), 404 when it does not exist, 422 when files are missing.
    """
    if model_dir is None:
        raise RequestError(
            400, f"field model_dir is required: the training run directory under {train_dir}"
        )
    if not isinstance(model_dir, str) or not model_dir.strip() or "\0" in model_dir:
        raise RequestError(400, f"model_dir must be a non-empty path string, got {model_dir!r}")
    root = train_dir.resolve()
    path = (root / model_dir).resolve()
    if path == root or not path.is_relative_to(root):
        raise RequestError(
            400,
            f"model_dir {model_dir!r} resolves to {path}, outside the training directory {root}",
        )
    if not path.exists():
        raise RequestError(404, f"model_dir {model_dir!r}: {path} does not exist")
    if not path.is_dir():
        raise RequestError(422, f"model_dir {model_dir!r}: {path} is not a directory")
    for name in (WEIGHTS_FILE, METADATA_FILE):
        file = path / name
        if not file.is_file():
            raise RequestError(
                422,
                f"model_dir {path} has no {name}; a training run holds {WEIGHTS_FILE} and "
                f"{METADATA_FILE}",
            )
        if not file.resolve().is_relative_to(root):
            raise RequestError(
                400, f"{file} resolves to {file.resolve()}, outside the training directory {root}"
            )
    return path


def check_run(
    path: Path,
    channels: ChannelList,
    sample_rate: float,
    ifo: IFO,
    bands: list[tuple[float, float]],
) -> TrainedModel:
    """The run at ``path`` loaded and checked against the repository's channels (RequestError 422 if
    it does not fit)."""
    try:
        meta = read_metadata(path)
    except TrainingError as exc:
        raise RequestError(422, str(exc)) from None
    if str(meta.ifo) != str(ifo):
        raise RequestError(
            422, f"{path / METADATA_FILE}: the run is for {meta.ifo}, this exporter serves {ifo}"
        )
    if list(meta.channels) != list(channels.names):
        raise RequestError(
            422,
            f"{path}: the run's channels {list(meta.channels)} differ from the "
            f"repository's {list(channels.names)}",
        )
    try:
        return load_trained(path, channels, sample_rate, Architecture.AUTOENCODER, bands)
    except ConfigError as exc:
        raise RequestError(422, str(exc)) from None
