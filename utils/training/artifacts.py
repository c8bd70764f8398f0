"""A trained model on disk: ``weights.pt`` (state dict) and ``metadata.json``, written atomically.

``weights.pt`` is the state dict of :class:`~deepclean.utils.nn.DeepCleanModel` (network
and scaler statistics); load it with ``torch.load(path, weights_only=True)``.
``metadata.json`` says everything needed to use it: channels (strain first), sample rate,
band(s) (``bands`` where cleaning is measured; ``filter_bands`` those of the band-pass the
noise estimate goes through before subtraction), training and inference geometry, scaler
statistics, training span, losses and
library versions. :func:`load_model` rebuilds the model from the two.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import torch

from deepclean.utils.errors import TrainingError
from deepclean.utils.nn import DeepCleanModel

WEIGHTS_FILE = "weights.pt"
METADATA_FILE = "metadata.json"
METADATA_VERSION = 1


@dataclass
class ModelMetadata:
    """Contents of ``metadata.json``."""

    ifo: str
    channels: list[str]  #: strain first, then the witnesses in network input order
    sample_rate: float  #: Hz
    bands: list[tuple[float, float]]  #: cleaning band(s), Hz (where reports measure)
    kernel_length: float  #: training window, seconds
    kernel_stride: float  #: seconds between training windows
    inference_kernel_length: float  #: seconds
    inference_sampling_rate: float  #: windows per second
    inference_batch_size: int
    max_latency: float  #: seconds
    scalers: dict[str, dict[str, list[float]]]  #: {"witness"|"target": {"mean": [...], "std": [...]}}
    span: dict[str, Any]  #: start, duration (GPS s), ready seconds, train/valid segments
    losses: dict[str, Any]  #: best/final train and validation losses, epochs, stop reason
    filter_bands: list[tuple[float, float]] = field(default_factory=list)  #: target/noise band-pass bands, Hz
    validation: dict[str, Any] = field(default_factory=dict)  #: ASD ratios on validation data
    training: dict[str, Any] = field(default_factory=dict)  #: profile, lr, init_weights, seconds...
    versions: dict[str, str] = field(default_factory=dict)
    format_version: int = METADATA_VERSION

    @property
    def witnesses(self) -> list[str]:
        return self.channels[1:]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelMetadata":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["bands"] = [tuple(b) for b in known.get("bands", [])]
        known["filter_bands"] = [tuple(b) for b in known.get("filter_bands") or known["bands"]]
        return cls(**known)


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on."""
    out = {}
    for name in ("deepclean", "torch", "numpy", "scipy", "gwpy"):
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(output_dir: Path, model: DeepCleanModel, meta: ModelMetadata) -> Path:
    """Write ``weights.pt`` then ``metadata.json`` into ``output_dir`` atomically; return the directory."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    _atomic_write(output_dir / WEIGHTS_FILE, lambda tmp: torch.save(state, tmp))
    _atomic_write(output_dir / METADATA_FILE, lambda tmp: Path(tmp).write_text(meta.to_json() + "\n"))
    return output_dir


def resolve_weights(path: Path) -> Path:
    """``path`` itself, or ``path/weights.pt`` when ``path`` is a directory."""
    path = Path(path)
    return path / WEIGHTS_FILE if path.is_dir() else path


def read_metadata(weights: Path) -> ModelMetadata:
    """The ``metadata.json`` next to ``weights`` (a weights.pt file or its directory)."""
    path = resolve_weights(weights).parent / METADATA_FILE
    try:
        return ModelMetadata.from_dict(json.loads(path.read_text()))
    except FileNotFoundError as exc:
        raise TrainingError(
            f"model metadata {path} does not exist; a trained model directory holds {METADATA_FILE}"
        ) from exc
    except (json.JSONDecodeError, TypeError) as exc:
        raise TrainingError(f"model metadata {path} is not valid: {exc}") from exc


def load_state(weights: Path) -> dict[str, torch.Tensor]:
    """The state dict in ``weights`` (file or directory), loaded with ``weights_only=True``."""
    path = resolve_weights(weights)
    if not path.is_file():
        raise TrainingError(f"weights file {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise TrainingError(f"weights file {path} is not a loadable state dict: {exc}") from exc


def load_model(weights: Path) -> tuple[DeepCleanModel, ModelMetadata]:
    """Rebuild the trained model (eval mode) and its metadata from a model directory or weights.pt."""
    meta = read_metadata(weights)
    model = DeepCleanModel(len(meta.witnesses))
    try:
        model.load_state_dict(load_state(weights))
    except RuntimeError as exc:
        raise TrainingError(
            f"weights {resolve_weights(weights)} do not fit a DeepClean model with {len(meta.witnesses)} "
            f"witnesses: {exc}"
        ) from exc
    return model.eval(), meta
