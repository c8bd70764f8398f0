"""The steps of an export: trained weights -> a new DeepClean version + the streaming ensemble.

Everything is checked before the repository is touched (channels, weights against the
channel count, finite weights, stream geometry); the repository changes inside one
transaction, so a failure leaves it exactly as it was. ``export-model`` runs
:func:`export_model` on a repository no server uses; the exporter service adds versions with
:func:`add_version` and switches the live server with ``set_versions``.

Every exported version gets an entry in DeepClean's ``version_info`` parameter
(:class:`deepclean.utils.products.VersionInfo`), with the bands of its training run.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from deepclean.services.exporter.settings import (
    Architecture,
    ExporterSettings,
    ExportModelSettings,
    ExportPlatform,
)
from deepclean.utils.channels import ChannelList
from deepclean.utils.errors import ConfigError
from deepclean.utils.export import Model, ModelRepository, Platform, Verification
from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.nn.architecture import TIME_MULTIPLE
from deepclean.utils.products import VERSION_INFO, VersionInfo, parse_version_info
from deepclean.utils.streaming import StreamMode
from deepclean.utils.training.artifacts import METADATA_FILE, resolve_weights
from deepclean.utils.triton.ensemble import StreamSpec, build_stream
from deepclean.utils.triton.names import DEEPCLEAN, ENSEMBLE, Role
from deepclean.utils.triton.versions import read_versions

logger = logging.getLogger(__name__)

INPUT_NAME = "witness"  #: DeepClean's input, (batch, W, kernel or contiguous stretch) raw witnesses
OUTPUT_NAME = "noise"  #: DeepClean's output, (batch, kernel or stretch) noise in strain units
_SPAN_DIR = re.compile(r"^(\d+)-(\d+)$")  #: training run directories are named <start>-<end>


@dataclass(frozen=True)
class ExportTarget:
    """Where and how versions are exported: the repository, DeepClean's platform and the stream
    geometry."""

    repository: Path
    platform: ExportPlatform
    sample_rate: float  #: Hz
    kernel_length: float  #: s
    stride_length: float  #: s
    batch_size: int  #: windows per update
    max_latencies: tuple[float, ...]  #: s, one aggregator pair per value
    streams: int = 1
    instances: int | None = None
    stream_mode: StreamMode = StreamMode.CONTIGUOUS

    @classmethod
    def of(cls, settings: ExportModelSettings | ExporterSettings) -> ExportTarget:
        if isinstance(settings, ExporterSettings):
            return cls(
                settings.repository,
                settings.platform,
                settings.sample_rate,
                settings.inference_kernel_length,
                settings.stride_length,
                settings.inference_batch_size,
                (settings.max_latency,),
                settings.streams_per_gpu,
                settings.instances,
                settings.stream_mode,
            )
        return cls(
            settings.repository,
            settings.platform,
            settings.sample_rate,
            settings.kernel_length,
            settings.stride_length,
            settings.batch_size,
            tuple(settings.max_latency),
            settings.streams_per_gpu,
            settings.instances,
            settings.stream_mode,
        )


@dataclass(frozen=True)
class TrainedModel:
    module: torch.nn.Module  #: eval mode, weights loaded
    weights: Path  #: the weights.pt file
    span: dict[str, Any] | None  #: training span (GPS start, duration), if known
    info: VersionInfo  #: what the repository will record about it


@dataclass(frozen=True)
class ExportResult:
    version: int  #: the new DeepClean version (the canary)
    production: int  #: the DeepClean version the ensemble's production path uses
    paths: list[Path]  #: DeepClean's artifact, then the streaming models and the ensemble


def stream_spec(
    target: ExportTarget, channels: ChannelList, parameters: dict[str, Any]
) -> StreamSpec:
    """The stream geometry, or ConfigError naming what does not fit."""
    try:
        spec = StreamSpec(
            channels=channels.names,
            sample_rate=target.sample_rate,
            kernel_length=target.kernel_length,
            stride_length=target.stride_length,
            batch_size=target.batch_size,
            max_latencies=tuple(target.max_latencies),
            streams=target.streams,
            parameters=parameters,
            stream_mode=target.stream_mode,
        )
    except ValueError as exc:
        raise ConfigError(f"stream geometry: {exc}") from None
    kernel = spec.geometry().kernel_size
    if kernel % TIME_MULTIPLE:
        raise ConfigError(
            f"kernel_length {target.kernel_length} s is {kernel} samples at "
            f"{target.sample_rate} Hz; "
            f"DeepClean needs a multiple of {TIME_MULTIPLE} samples"
        )
    return spec


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


def untrained_model(num_witnesses: int) -> DeepCleanModel:
    """The placeholder DeepClean: scalers at identity, output layer zeroed, so its prediction is
    exactly 0."""
    module = DeepCleanModel(num_witnesses)
    with torch.no_grad():
        module.network.output_conv.weight.zero_()
        module.network.output_conv.bias.zero_()
    return module.eval()


def version_infos(deepclean: Model) -> dict[int, VersionInfo]:
    """DeepClean's ``version_info`` parameter, decoded ({} when it has none)."""
    raw = deepclean.parameters.get(VERSION_INFO)
    return parse_version_info(raw) if raw is not None else {}


def add_version(
    repo: ModelRepository,
    target: ExportTarget,
    channels: ChannelList,
    module: torch.nn.Module,
    spec: StreamSpec,
    info: VersionInfo,
    *,
    span: dict[str, Any] | None = None,
) -> tuple[int, Path]:
    """Export ``module`` as the next DeepClean version with its ``version_info``; return (version,
    artifact).

    Call inside ``repo.transaction()``. DeepClean's version policy is left as it is.
    """
    platform = Platform(target.platform.value)
    geometry = spec.geometry()
    if DEEPCLEAN in repo:
        deepclean = repo[DEEPCLEAN]
        if deepclean.platform is not platform:
            raise ConfigError(
                f"model {DEEPCLEAN} in {repo.path} is {deepclean.platform.value}; all its "
                "versions share one "
                f"platform, so --platform {platform.value} cannot be added (use another repository)"
            )
    else:
        deepclean = repo.create_model(DEEPCLEAN, platform)
        deepclean.config.max_batch_size = target.batch_size
    if target.instances is not None:
        deepclean.set_instance_count(target.instances)
    version = deepclean.next_version
    spans = dict(deepclean.parameters.get("training_spans") or {})
    spans[str(version)] = span
    infos = {str(v): i.to_json() for v, i in version_infos(deepclean).items()}
    infos[str(version)] = info.to_json()
    deepclean.set_parameters(
        {
            "channels": list(channels.names),
            "sample_rate": target.sample_rate,
            "kernel_length": target.kernel_length,
            "stride_length": target.stride_length,
            "training_spans": spans,
            VERSION_INFO: infos,
        }
    )
    artifact = deepclean.export_version(
        module,
        version=version,
        input_shapes={INPUT_NAME: (None, len(channels.witnesses), geometry.input_size)},
        output_names=[OUTPUT_NAME],
        verification=Verification(
            batch_sizes=tuple(
                sorted({1, min(geometry.model_batch, deepclean.config.max_batch_size)})
            )
        ),
    )
    return version, artifact


def export_model(
    target: ExportTarget, channels: ChannelList, trained: TrainedModel, spec: StreamSpec
) -> ExportResult:
    """Export ``trained`` as the next DeepClean version (the canary) and (re)write the ensemble.

    For a repository no server uses. A new repository serves the new version on both paths;
    otherwise production stays where the ensemble had it.
    """
    repo = ModelRepository(target.repository)
    with repo.transaction():
        version, artifact = add_version(
            repo, target, channels, trained.module, spec, trained.info, span=trained.span
        )
        production = read_versions(repo.path)[Role.PRODUCTION] if ENSEMBLE in repo else version
        paths = build_stream(repo.path, spec, production=production, canary=version)
    logger.info(
        "exported %s version %d from %s; %s: production %d, canary %d",
        DEEPCLEAN,
        version,
        trained.weights,
        ENSEMBLE,
        production,
        version,
    )
    return ExportResult(version, production, [artifact, *paths])
