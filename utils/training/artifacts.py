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
from dataclasses import asdict, dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import torch

from deepclean.utils.errors import TrainingError
from deepclean.utils.files import atomic_write, atomic_write_text
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
    scalers: dict[
        str, dict[str, list[float]]
    ]  #: {"witness"|"target": {"mean": [...], "std": [...]}}
    span: dict[str, Any]  #: start, duration (GPS s), ready seconds, train/valid segments
    losses: dict[str, Any]  #: best/final train and validation losses, epochs, stop reason
    filter_bands: list[tuple[float, float]] = field(
        default_factory=list
    )  #: target/noise band-pass bands, Hz
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
    def from_dict(cls, data: dict[str, Any]) -> ModelMetadata:
        """Validate ``data`` (types and shapes of every field); ``ValueError`` naming the first bad
        field."""
        from pydantic import TypeAdapter, ValidationError

        if not isinstance(data, dict):
            raise ValueError(
                f"must be a JSON object of the model's fields, not {type(data).__name__}"
            )
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if not known.get("filter_bands"):
            known["filter_bands"] = known.get("bands", [])
        try:
            meta = TypeAdapter(cls).validate_python(known)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "fields"
            raise ValueError(
                f"field {where}: {error['msg']} (got {error.get('input')!r:.60})"
            ) from None
        meta.bands = [tuple(b) for b in meta.bands]
        meta.filter_bands = [tuple(b) for b in meta.filter_bands]
        if len(meta.channels) < 2:
            raise ValueError(
                f"field channels lists {len(meta.channels)} channel(s); a model needs "
                "strain and witnesses"
            )
        return meta


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on."""
    out = {}
    for name in ("deepclean", "torch", "numpy", "scipy", "gwpy"):
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def save_model(output_dir: Path, model: DeepCleanModel, meta: ModelMetadata) -> Path:
    """Write ``weights.pt`` then ``metadata.json`` into ``output_dir`` atomically; return the
    directory."""
    output_dir = Path(output_dir)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise TrainingError(
                f"model tensor {name} holds NaN or infinite values; the model was not saved"
            )
    text = meta.to_json()  # before anything is written: json refuses NaN below
    try:
        json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise TrainingError(f"model metadata {exc}; the model was not saved") from None
    output_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(output_dir / WEIGHTS_FILE, lambda tmp: torch.save(state, tmp))
    atomic_write_text(output_dir / METADATA_FILE, text + "\n")
    return output_dir


def _refuse_constant(name: str) -> float:
    raise ValueError(f"holds {name}")


ALLOWED_WEIGHTS = (
    f"allowed: a trained model directory (holding {WEIGHTS_FILE} and {METADATA_FILE}) or its "
    f"{WEIGHTS_FILE}"
)


def resolve_weights(path: Path) -> Path:
    """``path`` itself, or ``path/weights.pt`` when ``path`` is a directory."""
    path = Path(path)
    return path / WEIGHTS_FILE if path.is_dir() else path


def check_weights_path(weights: Path) -> Path:
    """The weights file of ``weights`` (a model directory or its weights.pt); a
    :class:`TrainingError` naming the path as given when it is no such thing."""
    given = Path(weights)
    if not given.exists():
        raise TrainingError(f"weights {given}: no such file or directory; {ALLOWED_WEIGHTS}")
    path = resolve_weights(given)
    if not path.is_file():
        raise TrainingError(f"weights {given}: directory without {WEIGHTS_FILE}; {ALLOWED_WEIGHTS}")
    if not (path.parent / METADATA_FILE).is_file():
        raise TrainingError(
            f"weights {given}: no {METADATA_FILE} beside {path.name}; {ALLOWED_WEIGHTS}"
        )
    return path


def read_metadata(weights: Path) -> ModelMetadata:
    """The ``metadata.json`` next to ``weights`` (a weights.pt file or its directory)."""
    path = check_weights_path(weights).parent / METADATA_FILE
    try:
        text = path.read_text(encoding="utf-8")
        return ModelMetadata.from_dict(json.loads(text))
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingError(
            f"model metadata {path} cannot be read ({_reason(exc)}); {ALLOWED_WEIGHTS}"
        ) from None
    except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
        raise TrainingError(f"model metadata {path} is not valid: {_reason(exc)}") from None


def load_state(weights: Path) -> dict[str, torch.Tensor]:
    """The state dict in ``weights`` (file or directory), loaded with ``weights_only=True``.

    Anything else (garbage, a truncated file, a pickle of other objects) is a
    :class:`TrainingError` naming the file; torch's own message is not passed on, as it
    advises loading with ``weights_only=False``, which must never be done with a file one
    does not trust."""
    path = resolve_weights(weights)
    if not path.is_file():
        raise TrainingError(f"weights {weights}: no weights file {path}; {ALLOWED_WEIGHTS}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
        kind = (
            "cannot be read"
            if isinstance(exc, OSError)
            else "is not a state dict written by deepclean train"
        )
        raise TrainingError(
            f"weights file {path} {kind} ({type(exc).__name__}); {ALLOWED_WEIGHTS}"
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise TrainingError(
            f"weights file {path} holds a {type(state).__name__}, not a state dict of tensors"
        )
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise TrainingError(
                f"weights file {path}: tensor {name} holds NaN or infinite values; retrain "
                "the model"
            )
    return state


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text: byte 0x{exc.object[exc.start]:02x} at offset {exc.start}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def load_model(weights: Path) -> tuple[DeepCleanModel, ModelMetadata]:
    """Rebuild the trained model (eval mode) and its metadata from a model directory or
    weights.pt."""
    meta = read_metadata(weights)
    model = DeepCleanModel(len(meta.witnesses))
    try:
        model.load_state_dict(load_state(weights))
    except RuntimeError as exc:
        raise TrainingError(
            f"weights {resolve_weights(weights)} do not fit a DeepClean model with "
            f"{len(meta.witnesses)} "
            f"witnesses (as {METADATA_FILE} says): {_reason(exc)}"
        ) from None
    return model.eval(), meta
