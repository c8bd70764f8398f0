"""What a running Triton serves: stream geometry and DeepClean versions, from the served configs.

Clients never keep a second copy of the geometry: :func:`fetch_served` asks the server for the
configs of ``deepclean-stream`` (geometry in its ``parameters``, production and canary versions
pinned in its DeepClean steps) and of ``deepclean`` (``version_info``: trained flag and filter
bands per version, see :mod:`deepclean.utils.products`). :func:`parse_served` is the pure part:
it takes the two configs as ``get_model_config(..., as_json=True)`` returns them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deepclean.utils.errors import ServerUnavailableError
from deepclean.utils.products import VERSION_INFO, VersionInfo, parse_version_info
from deepclean.utils.streaming import StreamGeometry, StreamMode
from deepclean.utils.triton.names import (
    DEEPCLEAN,
    ENSEMBLE,
    GEOMETRY_PARAMETERS,
    STREAM_MODE,
    Role,
    pinned_versions,
)
from deepclean.utils.triton.parameters import decode_parameter

logger = logging.getLogger(__name__)


class ServedConfigError(ServerUnavailableError):
    """The served configs lack what a client needs (geometry parameters, DeepClean steps)."""


@dataclass(frozen=True)
class ServedStream:
    """The geometry and the versions of the served ``deepclean-stream``."""

    channels: tuple[str, ...]  #: strain first, then the witnesses in the network's order
    sample_rate: float  #: Hz
    geometry: StreamGeometry  #: samples (first max latency)
    versions: Mapping[Role, int]  #: DeepClean version per role
    info: Mapping[int, VersionInfo] = field(default_factory=dict)  #: ``version_info`` per version

    @property
    def witnesses(self) -> tuple[str, ...]:
        return self.channels[1:]

    def same_stream(self, other: ServedStream | None) -> bool:
        """True if ``other`` streams the same channels with the same geometry (versions may
        differ)."""
        return (
            other is not None
            and other.channels == self.channels
            and other.sample_rate == self.sample_rate
            and other.geometry == self.geometry
        )

    def version_info(self, role: Role) -> VersionInfo | None:
        return self.info.get(self.versions[role])


def _parameters(config: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: decode_parameter(v.get("string_value", ""))
        for k, v in (config.get("parameters") or {}).items()
    }


def _config(response: Mapping[str, Any]) -> Mapping[str, Any]:
    return response.get("config", response)


def _geometry(params: Mapping[str, Any]) -> StreamGeometry:
    """The stream geometry the ensemble's parameters describe (ServedConfigError if they do not
    fit)."""
    # repositories built before the stream modes have no STREAM_MODE parameter: windowed
    mode = params.get(STREAM_MODE, StreamMode.WINDOWED.value)
    if mode not in {m.value for m in StreamMode}:
        raise ServedConfigError(
            f"{ENSEMBLE} parameter {STREAM_MODE} {mode!r} is not one of "
            f"{[m.value for m in StreamMode]}; re-export the model repository"
        )
    try:
        geometry = StreamGeometry.from_seconds(
            kernel_length=float(params["kernel_length"]),
            stride_length=float(params["stride_length"]),
            sample_rate=float(params["sample_rate"]),
            batch_size=int(params["batch_size"]),
            max_latency=float(params["max_latencies"][0]),
            mode=StreamMode(mode),
        )
    except (ValueError, TypeError, IndexError) as exc:
        raise ServedConfigError(f"{ENSEMBLE} config parameters {params}: {exc}") from None
    lags = params.get("lag_samples")
    if lags and int(lags[0]) != geometry.lag_samples:
        raise ServedConfigError(
            f"{ENSEMBLE} parameter lag_samples {lags[0]} differs from the geometry's "
            f"{geometry.lag_samples}"
        )
    return geometry


def parse_served(ensemble: Mapping[str, Any], deepclean: Mapping[str, Any] | None) -> ServedStream:
    """The served stream from the ensemble's and DeepClean's configs (JSON as tritonclient returns
    them).

    Raises ServedConfigError naming what is missing or inconsistent.
    """
    config = _config(ensemble)
    params = _parameters(config)
    missing = [name for name in GEOMETRY_PARAMETERS if name not in params]
    if missing:
        raise ServedConfigError(
            f"{ENSEMBLE} config parameters lack {missing}; re-export the model repository"
        )
    geometry = _geometry(params)
    versions = pinned_versions(config)
    if set(versions) != set(Role) or min(versions.values()) < 1:
        raise ServedConfigError(
            f"{ENSEMBLE} config does not pin a DeepClean version for each role: {versions}"
        )
    info: dict[int, VersionInfo] = {}
    if deepclean is not None:
        raw = _parameters(_config(deepclean)).get(VERSION_INFO)
        if raw is not None:
            try:
                info = parse_version_info(raw)
            except ValueError as exc:
                logger.warning("%s config: %s", DEEPCLEAN, exc)
    return ServedStream(
        channels=tuple(str(c) for c in params["channels"]),
        sample_rate=float(params["sample_rate"]),
        geometry=geometry,
        versions=versions,
        info=info,
    )


def fetch_served(client: Any, *, timeout: float = 2.0) -> ServedStream:
    """The served stream from a ``tritonclient.grpc.InferenceServerClient`` (ServerUnavailableError
    if not served)."""
    from tritonclient.utils import InferenceServerException

    try:
        if not client.is_model_ready(ENSEMBLE, client_timeout=timeout):
            raise ServerUnavailableError(f"{ENSEMBLE} is not ready")
        ensemble = client.get_model_config(ENSEMBLE, as_json=True, client_timeout=timeout)
        deepclean = client.get_model_config(DEEPCLEAN, as_json=True, client_timeout=timeout)
    except InferenceServerException as exc:
        raise ServerUnavailableError(
            f"cannot read the served configs: {exc.message() or exc}"
        ) from None
    return parse_served(ensemble, deepclean)
