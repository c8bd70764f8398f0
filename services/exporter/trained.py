"""A training run as the exporter takes it in: its weights checked against the channel list and
its metadata.json, and the :class:`~deepclean.utils.products.VersionInfo` the repository will
record about it."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from deepclean.services.exporter.settings import Architecture
from deepclean.utils.channels import ChannelList
from deepclean.utils.errors import ConfigError
from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.products import VersionInfo
from deepclean.utils.training.artifacts import METADATA_FILE, resolve_weights

_SPAN_DIR = re.compile(r"^(\d+)-(\d+)$")  #: training run directories are named <start>-<end>


@dataclass(frozen=True)
class TrainedModel:
    module: torch.nn.Module  #: eval mode, weights loaded
    weights: Path  #: the weights.pt file
    span: dict[str, Any] | None  #: training span (GPS start, duration), if known
    info: VersionInfo  #: what the repository will record about it


def load_trained(
    weights: Path,
    channels: ChannelList,
    sample_rate: float,
    architecture: Architecture,
    bands: list[tuple[float, float]] | None = None,
) -> TrainedModel:
    """The trained network, checked against the channel list (and metadata.json, when present).

    ``bands`` are recorded for a run without metadata.json (default: none).
    """
    if architecture is not Architecture.AUTOENCODER:
        raise ConfigError(
            f"architecture {architecture!r} is not known; allowed: "
            f"{[a.value for a in Architecture]}"
        )
    path = resolve_weights(weights)
    if not path.is_file():
        raise ConfigError(
            f"setting weights = {weights}: no file {path}; give weights.pt or the training "
            "run directory holding it"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        trained = int(state["witness_scaler.mean"].shape[0])
    except Exception as exc:  # noqa: BLE001 - any failure means: not DeepClean weights
        raise ConfigError(
            f"setting weights = {path}: not a DeepClean state dict ({type(exc).__name__}: "
            f"{_one_line(exc)})"
        ) from None
    if trained != len(channels.witnesses):
        raise ConfigError(
            f"weights {path} were trained on {trained} witnesses, but the channel list has "
            f"{len(channels.witnesses)} "
            f"witnesses after the strain channel ({len(channels)} channels)"
        )
    bad = sorted(
        k
        for k, v in state.items()
        if torch.is_tensor(v) and v.is_floating_point() and not torch.isfinite(v).all()
    )
    if bad:
        raise ConfigError(f"weights {path} hold NaN or infinite values in {', '.join(bad)}")
    module = DeepCleanModel(trained)
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise ConfigError(
            f"setting weights = {path}: does not fit DeepClean with {trained} witnesses: {exc}"
        ) from None
    meta = _metadata(path, channels, sample_rate)
    span = _training_span(path, meta)
    return TrainedModel(
        module.eval(), path, span, version_info(path.parent, meta, span, bands or [])
    )


def _one_line(exc: Exception) -> str:
    """torch's load errors run over many lines: the first, and the one naming what was
    unsupported."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    detail = [line for line in lines[1:] if "Unsupported" in line][:1]
    return "; ".join(lines[:1] + detail) or type(exc).__name__


def _metadata(path: Path, channels: ChannelList, sample_rate: float) -> dict[str, Any]:
    """metadata.json beside ``path`` (checked against the channels and the rate), or {} without
    one."""
    meta_path = path.parent / METADATA_FILE
    if not meta_path.is_file():
        return {}
    try:
        meta = json.loads(meta_path.read_text())
    except ValueError as exc:
        raise ConfigError(f"{meta_path} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"{meta_path} must hold a JSON object, not {type(meta).__name__}")
    if "channels" in meta and list(meta["channels"]) != list(channels.names):
        raise ConfigError(
            f"the channel list differs from the one in {meta_path} (the model's input order): "
            f"given {list(channels.names)}, trained on {meta['channels']}"
        )
    if "sample_rate" in meta and float(meta["sample_rate"]) != float(sample_rate):
        raise ConfigError(
            f"sample_rate {sample_rate} Hz differs from {meta['sample_rate']} Hz in {meta_path}"
        )
    return meta


def _training_span(path: Path, meta: dict[str, Any]) -> dict[str, Any] | None:
    span = meta.get("span") or {}
    if "start" in span and "duration" in span:
        return {"start": span["start"], "duration": span["duration"]}
    match = _SPAN_DIR.match(path.parent.name)
    if match:
        start, end = int(match[1]), int(match[2])
        return {"start": start, "duration": end - start}
    return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def version_info(
    model_dir: Path,
    meta: dict[str, Any],
    span: dict[str, Any] | None,
    bands: list[tuple[float, float]],
) -> VersionInfo:
    """The :class:`VersionInfo` of a trained run from its metadata.json (``bands`` when it has
    none)."""
    run_bands = [list(map(float, b)) for b in (meta.get("bands") or bands)]
    filter_bands = [list(map(float, b)) for b in (meta.get("filter_bands") or run_bands)]
    return VersionInfo(
        trained=True,
        span=span,
        model_dir=str(Path(model_dir).resolve()),
        valid_loss=_number((meta.get("losses") or {}).get("best_valid_loss")),
        in_band_ratio=_number((meta.get("validation") or {}).get("in_band_ratio")),
        bands=run_bands,
        filter_bands=filter_bands,
    )
