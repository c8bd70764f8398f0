"""The steps of an export: trained weights -> a new DeepClean version + the streaming ensemble.

Everything is checked before the repository is touched (channels, weights against the
channel count, finite weights, stream geometry); the repository changes inside one
transaction, so a failure leaves it exactly as it was. ``export-model`` runs
:func:`export_model` on a repository no server uses; the exporter service adds versions with
:func:`add_version` and switches the live server with ``set_versions``.

Every exported version gets an entry in DeepClean's ``version_info`` parameter
(:class:`deepclean.utils.products.VersionInfo`), with the bands of its training run. Loading and
checking a training run (:func:`load_trained`) lives in :mod:`.trained`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from deepclean.services.exporter.settings import (
    ExporterSettings,
    ExportModelSettings,
    ExportPlatform,
)
from deepclean.services.exporter.trained import (  # noqa: F401 - re-exported: they lived here
    TrainedModel,
    load_trained,
    version_info,
)
from deepclean.utils.channels import ChannelList
from deepclean.utils.errors import ConfigError
from deepclean.utils.export import Model, ModelRepository, Platform, Verification
from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.nn.architecture import TIME_MULTIPLE
from deepclean.utils.products import VERSION_INFO, VersionInfo, parse_version_info
from deepclean.utils.streaming import StreamMode
from deepclean.utils.triton.ensemble import StreamSpec, build_stream
from deepclean.utils.triton.names import DEEPCLEAN, ENSEMBLE, Role
from deepclean.utils.triton.versions import read_versions

logger = logging.getLogger(__name__)

INPUT_NAME = "witness"  #: DeepClean's input, (batch, W, kernel or contiguous stretch) raw witnesses
OUTPUT_NAME = "noise"  #: DeepClean's output, (batch, kernel or stretch) noise in strain units


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
