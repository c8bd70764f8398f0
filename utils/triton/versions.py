"""Which DeepClean versions ``deepclean-stream`` uses, and changing them while streams run.

:func:`set_versions` never unloads a version in use and never reloads a stateful model:

1. DeepClean's ``version_policy`` is widened to the old and the new versions and the model is
   reloaded (Triton keeps serving the loaded versions while the new one loads);
2. the ensemble config is rewritten to pin the new production and canary versions and reloaded:
   the ensemble holds no state, requests in flight finish on the old steps and every later
   request takes the new ones;
3. DeepClean's policy is narrowed to the new pair and reloaded, unloading the old version.

The snapshotter and the aggregators are never touched, so every stream keeps its windows, its
partial averages and its update count: no update is lost or repeated. For a stream, the switch
happens between two consecutive updates; the aggregator of a role whose version changed then
blends old and new predictions over its averaging span (``max_latency``). Each file is replaced
atomically and a file lock serialises promotions. Keep one update of a stream in flight at a
time (see :mod:`deepclean.utils.triton.client`): while the production version changes, two
pipelined updates could reach the aggregator through different DeepClean versions out of order
(the aggregator then refuses the late one).

Measured on Triton 2.51: loading an ensemble again re-reads its composing models and reloads
every one whose folder changed since it was loaded -- a reloaded snapshotter or aggregator has
lost the state of every stream (the next update is refused: "must specify the START flag").
So nothing may write into their folders while they serve. The python backend's stub would
write ``__pycache__/`` beside ``model.py`` on the first load (it ignores
``PYTHONDONTWRITEBYTECODE``); :mod:`deepclean.utils.triton.ensemble` therefore puts a plain
*file* named ``__pycache__`` in their version folders, which makes Python skip writing
bytecode there (any Python version, even as root).
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tritonclient.grpc import InferenceServerClient
from tritonclient.utils import InferenceServerException

from deepclean.utils.errors import ExportError, ServerUnavailableError
from deepclean.utils.export import Model, ModelRepository
from deepclean.utils.export.config import specific_versions
from deepclean.utils.triton.ensemble import check_versions
from deepclean.utils.triton.names import ENSEMBLE, Role, pinned_versions, prediction_tensor

logger = logging.getLogger(__name__)

LOCK_FILE = ".deepclean-stream.lock"  #: in the repository root; Triton ignores files there


@contextmanager
def repository_lock(repository: Path | str) -> Iterator[None]:
    """Hold an exclusive lock on the repository's ensemble (one promotion at a time)."""
    with open(Path(repository) / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _deepclean_steps(ensemble: Model) -> dict[Role, object]:
    steps = {}
    for step in ensemble.config.ensemble_scheduling.step:
        for role in Role:
            if prediction_tensor(role) in step.output_map.values():
                steps[role] = step
    if set(steps) != set(Role):
        missing = sorted(set(Role) - set(steps))
        raise ExportError(f"{ensemble.path}: the ensemble has no DeepClean step for {missing}")
    return steps


def _pinned(
    repository: Path | str, ensemble: str
) -> tuple[Model, dict[Role, object], Model, dict[Role, int]]:
    """The ensemble, its DeepClean steps, the DeepClean model and the version each role pins."""
    repo = ModelRepository(repository)
    ens = repo[ensemble]
    steps = _deepclean_steps(ens)
    pins = {role: int(step.model_version) for role, step in steps.items()}
    return ens, steps, repo[steps[Role.PRODUCTION].model_name], pins


def read_versions(repository: Path | str, ensemble: str = ENSEMBLE) -> dict[Role, int]:
    """The DeepClean version each role uses, from the ensemble config on disk."""
    steps = _deepclean_steps(ModelRepository(repository)[ensemble])
    return {role: int(step.model_version) for role, step in steps.items()}


def _load(client: InferenceServerClient | None, model: Model) -> None:
    model.write_config()
    if client is not None:
        logger.info("loading %s", model.name)
        client.load_model(model.name)


def _unload_unused(
    client: InferenceServerClient | None, dc: Model, versions: Iterable[int]
) -> None:
    """Serve only ``versions`` of ``dc`` (after the switch; a failure only logs: the ensemble
    already uses the new pair, keep it)."""
    dc.keep_versions(versions)
    try:
        _load(client, dc)
    except InferenceServerException as exc:
        logger.warning("could not unload unused %s versions: %s", dc.name, exc)


def set_versions(
    repository: Path | str,
    *,
    production: int,
    canary: int,
    url: str | None = None,
    ensemble: str = ENSEMBLE,
) -> dict[Role, int]:
    """Point the ensemble at DeepClean ``production`` and ``canary``; return the previous versions.

    Args:
        repository: the model repository holding ``deepclean/<version>/`` and the ensemble.
        production, canary: DeepClean versions (folders that exist in the repository).
        url: gRPC address (``host:port``) of a Triton server serving the repository with
            explicit model control; ``None`` only rewrites the configs (no server running).
    """
    with repository_lock(repository):
        ens, steps, dc, previous = _pinned(repository, ensemble)
        wanted = {Role.PRODUCTION: production, Role.CANARY: canary}
        check_versions(dc, wanted.values())
        if previous == wanted and set(specific_versions(dc.config) or ()) == set(wanted.values()):
            return previous
        client = InferenceServerClient(url) if url is not None else None
        old_ens, old_dc = type(ens.config)(), type(dc.config)()
        old_ens.CopyFrom(ens.config)
        old_dc.CopyFrom(dc.config)
        during = sorted(set(previous.values()) | set(wanted.values()))
        try:
            if set(specific_versions(dc.config) or ()) != set(during):
                dc.keep_versions(during)
                _load(client, dc)
            for role, step in steps.items():
                step.model_version = wanted[role]
            _load(client, ens)
        except InferenceServerException as exc:
            ens.config.CopyFrom(old_ens)
            dc.config.CopyFrom(old_dc)
            ens.write_config()
            dc.write_config()
            raise ServerUnavailableError(
                f"Triton at {url} refused to switch {ensemble} to production {production}, "
                f"canary {canary} "
                f"(configs restored; it still serves {dict(previous)}): {exc}"
            ) from exc
        if during != sorted(set(wanted.values())):
            _unload_unused(client, dc, wanted.values())
        logger.info(
            "%s now uses %s production %d, canary %d (was %d, %d)",
            ensemble,
            dc.name,
            production,
            canary,
            previous[Role.PRODUCTION],
            previous[Role.CANARY],
        )
        return previous


def served_versions(
    client: InferenceServerClient, ensemble: str = ENSEMBLE
) -> dict[Role, int] | None:
    """The DeepClean version each role uses in the ensemble as Triton serves it; None if it is not
    loaded."""
    if not client.is_model_ready(ensemble):
        return None
    config = client.get_model_config(ensemble, as_json=True)["config"]
    pins = pinned_versions(config)
    return pins if set(pins) == set(Role) else None


def _served_as_on_disk(client: InferenceServerClient, model: Model, versions: list[int]) -> bool:
    """True when Triton serves exactly ``versions`` of ``model`` with the parameters on disk."""
    if not all(client.is_model_ready(model.name, str(v)) for v in versions):
        return False
    if any(client.is_model_ready(model.name, str(v)) for v in model.versions if v not in versions):
        return False
    served = client.get_model_config(model.name, as_json=True)["config"].get("parameters", {})
    served = {k: v.get("string_value", "") for k, v in served.items()}
    return served == {k: p.string_value for k, p in model.config.parameters.items()}


def reconcile(repository: Path | str, url: str, ensemble: str = ENSEMBLE) -> dict[Role, int]:
    """Make Triton serve what the ensemble config on disk pins; return those versions.

    The ensemble config on disk is the truth. DeepClean's policy is narrowed to the pinned
    versions (a promotion interrupted after widening it left it wide); a promotion interrupted
    after the ensemble config was written is finished the way :func:`set_versions` does it.
    Models Triton already serves as on disk are not loaded again (a reloaded snapshotter or
    aggregator would lose every stream); the others are loaded.
    """
    with repository_lock(repository):
        ens, _, dc, wanted = _pinned(repository, ensemble)
        check_versions(dc, wanted.values())
        pinned = sorted(set(wanted.values()))
        client = InferenceServerClient(url)
        try:
            served = served_versions(client, ensemble)
            if served is not None and served != wanted:
                logger.info(
                    "%s serves %s, its config on disk %s: switching",
                    ensemble,
                    dict(served),
                    dict(wanted),
                )
                dc.keep_versions(
                    sorted(set(pinned) | {v for v in served.values() if v in dc.versions})
                )
                _load(client, dc)
                _load(client, ens)
            if specific_versions(dc.config) != pinned or not _served_as_on_disk(client, dc, pinned):
                dc.keep_versions(pinned)
                _load(client, dc)
            for step in ens.config.ensemble_scheduling.step:
                if step.model_name != dc.name and not client.is_model_ready(step.model_name):
                    logger.info("loading %s", step.model_name)
                    client.load_model(step.model_name)
            if not client.is_model_ready(ensemble):
                logger.info("loading %s", ensemble)
                client.load_model(ensemble)
        except InferenceServerException as exc:
            raise ServerUnavailableError(
                f"Triton at {url} could not load {ensemble} as on disk: {exc}"
            ) from exc
        finally:
            client.close()
        return wanted
