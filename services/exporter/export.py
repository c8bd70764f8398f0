"""The steps of an export: trained weights -> a new DeepClean version + the streaming ensemble.

Everything is checked before the repository is touched (channels, weights against the
channel count, stream geometry); the repository changes inside one transaction, so a
failure leaves it exactly as it was.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from deepclean.services.exporter.settings import Architecture, ExportModelSettings
from deepclean.utils.channels import ChannelList
from deepclean.utils.errors import ConfigError
from deepclean.utils.export import ModelRepository, Platform, Verification
from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.nn.architecture import TIME_MULTIPLE
from deepclean.utils.training.artifacts import METADATA_FILE, resolve_weights
from deepclean.utils.triton.ensemble import StreamSpec, build_stream
from deepclean.utils.triton.names import DEEPCLEAN, ENSEMBLE, Role
from deepclean.utils.triton.versions import read_versions

logger = logging.getLogger(__name__)

INPUT_NAME = "witness"  #: DeepClean's input, (batch, W, kernel) raw witnesses
OUTPUT_NAME = "noise"  #: DeepClean's output, (batch, kernel) noise in strain units
_SPAN_DIR = re.compile(r"^(\d+)-(\d+)$")  #: training run directories are named <start>-<end>


@dataclass(frozen=True)
class TrainedModel:
    module: torch.nn.Module  #: eval mode, weights loaded
    weights: Path  #: the weights.pt file
    span: dict[str, Any] | None  #: training span (GPS start, duration), if known


@dataclass(frozen=True)
class ExportResult:
    version: int  #: the new DeepClean version (the canary)
    production: int  #: the DeepClean version the ensemble's production path uses
    paths: list[Path]  #: DeepClean's artifact, then the streaming models and the ensemble


def stream_spec(settings: ExportModelSettings, channels: ChannelList, parameters: dict[str, Any]) -> StreamSpec:
    """The stream geometry, or ConfigError naming what does not fit."""
    try:
        spec = StreamSpec(
            channels=channels.names,
            sample_rate=settings.sample_rate,
            kernel_length=settings.kernel_length,
            stride_length=settings.stride_length,
            batch_size=settings.batch_size,
            max_latencies=tuple(settings.max_latency),
            streams=settings.streams_per_gpu,
            parameters=parameters,
        )
    except ValueError as exc:
        raise ConfigError(f"stream geometry: {exc}") from None
    kernel = spec.geometry().kernel_size
    if kernel % TIME_MULTIPLE:
        raise ConfigError(
            f"kernel_length {settings.kernel_length} s is {kernel} samples at {settings.sample_rate} Hz; "
            f"DeepClean needs a multiple of {TIME_MULTIPLE} samples"
        )
    return spec


def load_trained(weights: Path, channels: ChannelList, sample_rate: float, architecture: Architecture) -> TrainedModel:
    """The trained network, checked against the channel list (and metadata.json, when present)."""
    if architecture is not Architecture.AUTOENCODER:
        raise ConfigError(f"architecture {architecture!r} is not known; allowed: {[a.value for a in Architecture]}")
    path = resolve_weights(weights)
    if not path.is_file():
        raise ConfigError(f"setting weights = {weights}: no file {path}; give weights.pt or the training run directory holding it")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        trained = int(state["witness_scaler.mean"].shape[0])
    except Exception as exc:  # noqa: BLE001 - any failure means: not DeepClean weights
        raise ConfigError(f"setting weights = {path}: not a DeepClean state dict ({type(exc).__name__}: {exc})") from None
    if trained != len(channels.witnesses):
        raise ConfigError(
            f"weights {path} were trained on {trained} witnesses, but the channel list has {len(channels.witnesses)} "
            f"witnesses after the strain channel ({len(channels)} channels)"
        )
    module = DeepCleanModel(trained)
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise ConfigError(f"setting weights = {path}: does not fit DeepClean with {trained} witnesses: {exc}") from None
    return TrainedModel(module.eval(), path, _training_span(path, channels, sample_rate))


def _training_span(path: Path, channels: ChannelList, sample_rate: float) -> dict[str, Any] | None:
    meta_path = path.parent / METADATA_FILE
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError as exc:
            raise ConfigError(f"{meta_path} is not valid JSON: {exc}") from None
        if "channels" in meta and list(meta["channels"]) != list(channels.names):
            raise ConfigError(
                f"the channel list differs from the one in {meta_path} (the model's input order): "
                f"given {list(channels.names)}, trained on {meta['channels']}"
            )
        if "sample_rate" in meta and float(meta["sample_rate"]) != float(sample_rate):
            raise ConfigError(f"sample_rate {sample_rate} Hz differs from {meta['sample_rate']} Hz in {meta_path}")
        span = meta.get("span") or {}
        if "start" in span and "duration" in span:
            return {"start": span["start"], "duration": span["duration"]}
    match = _SPAN_DIR.match(path.parent.name)
    if match:
        start, end = int(match[1]), int(match[2])
        return {"start": start, "duration": end - start}
    return None


def export_model(settings: ExportModelSettings, channels: ChannelList, trained: TrainedModel,
                 spec: StreamSpec) -> ExportResult:
    """Export ``trained`` as the next DeepClean version (the canary) and (re)write the ensemble.

    A new repository serves the new version on both paths; otherwise production stays
    where the ensemble had it.
    """
    platform = Platform(settings.platform.value)
    geometry = spec.geometry()
    repo = ModelRepository(settings.repository)
    with repo.transaction():
        if DEEPCLEAN in repo:
            deepclean = repo[DEEPCLEAN]
            if deepclean.platform is not platform:
                raise ConfigError(
                    f"model {DEEPCLEAN} in {repo.path} is {deepclean.platform.value}; all its versions share one "
                    f"platform, so --platform {platform.value} cannot be added (use another repository)"
                )
        else:
            deepclean = repo.create_model(DEEPCLEAN, platform)
            deepclean.config.max_batch_size = settings.batch_size
        if settings.instances is not None:
            deepclean.set_instance_count(settings.instances)
        version = deepclean.next_version
        spans = dict(deepclean.parameters.get("training_spans") or {})
        spans[str(version)] = trained.span
        deepclean.set_parameters({
            "channels": list(channels.names),
            "sample_rate": settings.sample_rate,
            "kernel_length": settings.kernel_length,
            "stride_length": settings.stride_length,
            "training_spans": spans,
        })
        artifact = deepclean.export_version(
            trained.module,
            version=version,
            input_shapes={INPUT_NAME: (None, len(channels.witnesses), geometry.kernel_size)},
            output_names=[OUTPUT_NAME],
            verification=Verification(batch_sizes=tuple(sorted({1, min(geometry.batch_size, deepclean.config.max_batch_size)}))),
        )
        production = read_versions(repo.path)[Role.PRODUCTION] if ENSEMBLE in repo else version
        paths = build_stream(repo.path, spec, production=production, canary=version)
    logger.info("exported %s version %d from %s; %s: production %d, canary %d",
                DEEPCLEAN, version, trained.weights, ENSEMBLE, production, version)
    return ExportResult(version, production, [artifact, *paths])
