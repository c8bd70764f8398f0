"""The streaming models and the ``deepclean-stream`` ensemble in a model repository.

Layout written here (DeepClean itself, ``deepclean/<version>/``, is exported beforehand with
:class:`deepclean.utils.export.ModelRepository`)::

    snapshotter/config.pbtxt, 1/model.py, 1/deepclean_streaming.py, 1/deepclean_sequences.py,
                1/deepclean_stream_geometry.py,
                1/__pycache__ (a placeholder file: no bytecode is written there)
    aggregator-production/..., aggregator-canary/...      (one pair per max latency)
    deepclean-stream/config.pbtxt, 1/                      (the ensemble)

``deepclean-stream`` takes one update ``update`` (1, W, stride*batch) float32 and returns
``noise_production`` and ``noise_canary`` (each (1, stride*batch), lagging the input by
``lag_samples``) and ``update_index`` (1,), the snapshotter's count of the sequence's updates,
in either stream mode (:class:`deepclean.utils.streaming.StreamMode`, the ensemble parameter
``stream_mode``): only what travels between the steps differs (B windows of the kernel, or
one contiguous stretch per phase). In the contiguous mode ``max_latencies`` holds the mode's
lag in seconds, so a client reading the geometry as a windowed one gets the right lag. Its two
``deepclean`` steps pin the production and the canary version; DeepClean's ``version_policy`` lists
exactly those versions. Change them on a live server
with :func:`deepclean.utils.triton.versions.set_versions`. The snapshotter and aggregators are
written by :mod:`.python_models` (:func:`write_streaming_models`, re-exported here).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from tritonclient.grpc import model_config_pb2 as mc

from deepclean.utils.errors import ExportError
from deepclean.utils.export import Model, ModelRepository, Platform
from deepclean.utils.triton.names import (
    DEEPCLEAN,
    ENSEMBLE,
    SNAPSHOTTER,
    STREAMING_VERSION,
    UPDATE,
    UPDATE_INDEX,
    Role,
    prediction_tensor,
)
from deepclean.utils.triton.python_models import (  # noqa: F401 - re-exported: they lived here
    PYCACHE_BLOCKER,
    PYCACHE_BLOCKER_TEXT,
    write_streaming_models,
)
from deepclean.utils.triton.spec import AggregatorSpec, StreamSpec, aggregators

__all__ = [
    "AggregatorSpec",
    "StreamSpec",
    "aggregators",
    "build_stream",
    "check_versions",
    "deepclean_tensors",
    "write_ensemble",
    "write_streaming_models",
]

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------- ensemble


def deepclean_tensors(model: Model, spec: StreamSpec) -> tuple[str, str]:
    """Names of DeepClean's input and output, after checking its config fits ``spec``."""
    config = model.config
    where = model.path
    if len(config.input) != 1 or len(config.output) != 1:
        raise ExportError(
            f"{where}: DeepClean must have one input and one output, has "
            f"{len(config.input)} and {len(config.output)}"
        )
    g = spec.geometry()
    want_in, want_out = [spec.num_witnesses, g.input_size], [g.input_size]
    if config.max_batch_size > 0:
        if config.max_batch_size < g.model_batch:
            raise ExportError(
                f"{where}: max_batch_size {config.max_batch_size} is smaller than the batch of "
                f"{g.model_batch} inputs per update ({g.mode.value} mode)"
            )
    else:  # the batch axis is an ordinary first dimension
        want_in, want_out = [g.model_batch, *want_in], [g.model_batch, *want_out]
    for what, tensor, want in (
        ("input", config.input[0], want_in),
        ("output", config.output[0], want_out),
    ):
        dims = list(tensor.dims)
        if len(dims) != len(want) or any(d not in (-1, w) for d, w in zip(dims, want)):
            raise ExportError(
                f"{where}: DeepClean {what} {tensor.name} has dims {dims}, which do not fit {want} "
                f"(W={spec.num_witnesses} witnesses, {g.input_size} samples, batch "
                f"{g.model_batch}, "
                f"{g.mode.value} mode: export DeepClean with the same stream mode)"
            )
        if tensor.data_type != mc.TYPE_FP32:
            raise ExportError(
                f"{where}: DeepClean {what} {tensor.name} is "
                f"{mc.DataType.Name(tensor.data_type)}, need TYPE_FP32"
            )
    return config.input[0].name, config.output[0].name


def _ensemble_parameters(spec: StreamSpec) -> dict[str, object]:
    return {
        **spec.geometry_parameters(),
        "lag_samples": [spec.geometry(latency).lag_samples for latency in spec.max_latencies],
        **spec.parameters,
    }


def _fill_ensemble(
    ensemble: Model,
    repo: ModelRepository,
    spec: StreamSpec,
    versions: Mapping[Role, int],
    deepclean: Model,
) -> None:
    g = spec.geometry()
    dc_in, dc_out = deepclean_tensors(deepclean, spec)
    ensemble.config.max_batch_size = 0
    ensemble.add_input(UPDATE, [1, spec.num_witnesses, g.update_size])
    for agg in aggregators(spec):
        ensemble.add_output(agg.output, [1, g.update_size])
    ensemble.add_output(UPDATE_INDEX, [1], "int64")
    ensemble.add_step(
        repo[SNAPSHOTTER],
        version=STREAMING_VERSION,
        input_map={"update": UPDATE},
        output_map={"windows": "windows", "update_index": UPDATE_INDEX},
    )
    for role in Role:
        ensemble.add_step(
            deepclean,
            version=versions[role],
            input_map={dc_in: "windows"},
            output_map={dc_out: prediction_tensor(role)},
        )
    for agg in aggregators(spec):
        ensemble.add_step(
            repo[agg.model],
            version=STREAMING_VERSION,
            input_map={"prediction": prediction_tensor(agg.role), "update_index": UPDATE_INDEX},
            output_map={"noise": agg.output},
        )
    ensemble.set_parameters(_ensemble_parameters(spec))


def write_ensemble(
    repository: Path | str,
    spec: StreamSpec,
    *,
    production: int,
    canary: int,
    deepclean: str = DEEPCLEAN,
) -> Path:
    """Write ``deepclean-stream`` pinning DeepClean ``production`` and ``canary``, and set
    DeepClean's policy.

    Meant for a repository no server is using yet (the ensemble is replaced as a whole); on a
    live server change versions with :func:`deepclean.utils.triton.versions.set_versions`.
    """
    repo = ModelRepository(repository)
    if deepclean not in repo:
        raise ExportError(
            f"cannot build {ENSEMBLE}: no model {deepclean} in {repo.path}; export DeepClean first"
        )
    missing = [m for m in [SNAPSHOTTER, *(a.model for a in aggregators(spec))] if m not in repo]
    if missing:
        raise ExportError(
            f"cannot build {ENSEMBLE}: {repo.path} lacks {missing}; run "
            "write_streaming_models first"
        )
    dc = repo[deepclean]
    versions = {Role.PRODUCTION: production, Role.CANARY: canary}
    check_versions(dc, versions.values())
    with repo.transaction():
        if ENSEMBLE in repo:  # rebuilt in place: its version folder stays, the config is replaced
            ensemble = repo[ENSEMBLE]
            ensemble.config.Clear()
            ensemble.config.name, ensemble.config.platform = ENSEMBLE, Platform.ENSEMBLE.value
        else:
            ensemble = repo.create_model(ENSEMBLE, Platform.ENSEMBLE)
        _fill_ensemble(ensemble, repo, spec, versions, dc)
        ensemble.export_version(version=None if ensemble.versions else STREAMING_VERSION)
        dc.keep_versions(sorted(set(versions.values())))
        dc.write_config()
    logger.info(
        "wrote %s (%s production %d, canary %d)", ensemble.path, deepclean, production, canary
    )
    return ensemble.path


def check_versions(deepclean: Model, versions: Sequence[int] | object) -> None:
    """Raise ExportError unless every one of ``versions`` is a version directory of
    ``deepclean``."""
    for version in versions:
        if not isinstance(version, int) or version not in deepclean.versions:
            raise ExportError(
                f"{deepclean.name} has no version {version!r} in {deepclean.path.parent}; "
                f"versions: {deepclean.versions}"
            )


def build_stream(
    repository: Path | str, spec: StreamSpec, *, production: int, canary: int, force: bool = False
) -> list[Path]:
    """The streaming models plus the ensemble over an exported DeepClean (everything but
    DeepClean)."""
    paths = write_streaming_models(repository, spec, force=force)
    paths.append(write_ensemble(repository, spec, production=production, canary=canary))
    return paths
