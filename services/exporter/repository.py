"""The live model repository as the exporter sees it: start-up, exports, promotions, retention.

The repository on disk is the state: the ensemble config pins production and canary, and
DeepClean's ``version_info`` parameter says what each version is. One lock serialises every
change; Triton is told through ``utils/triton/versions`` (``set_versions``, ``reconcile``), so
the streaming models are never reloaded under running streams. ``url=None`` runs without a
server (configs only), for tests and offline use.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepclean.services.exporter.export import (
    INPUT_NAME,
    OUTPUT_NAME,
    ExportTarget,
    TrainedModel,
    add_version,
    stream_spec,
    untrained_model,
    version_infos,
)
from deepclean.services.exporter.history import (
    PRODUCTION_HISTORY,
    current_history,
    promoted,
    rollback_target,
)
from deepclean.services.exporter.runs import RequestError
from deepclean.services.exporter.settings import ExporterSettings
from deepclean.utils.channels import ChannelList
from deepclean.utils.errors import ConfigError, ExportError
from deepclean.utils.export import STATUS_FILENAME, ModelRepository, Platform
from deepclean.utils.export.config import specific_versions
from deepclean.utils.products import VERSION_INFO, VersionInfo
from deepclean.utils.triton.ensemble import build_stream
from deepclean.utils.triton.names import DEEPCLEAN, ENSEMBLE, Role
from deepclean.utils.triton.versions import read_versions, reconcile, set_versions

logger = logging.getLogger(__name__)

#: ensemble parameters that must agree with the settings for the exporter to take a repository over
GEOMETRY_KEYS = (
    "channels",
    "sample_rate",
    "kernel_length",
    "stride_length",
    "batch_size",
    "max_latencies",
    "streams",
    "stream_mode",
)


#: DeepClean config parameter: versions a rollback retired from the canary slot
RETIRED = "retired_versions"


class ModelStore:
    """DeepClean versions in ``settings.repository`` served by the Triton at ``url``."""

    def __init__(
        self, settings: ExporterSettings, channels: ChannelList, *, url: str | None
    ) -> None:
        self.settings, self.channels, self.url = settings, channels, url
        self.target = ExportTarget.of(settings)
        self.spec = stream_spec(self.target, channels, {})
        self.path = settings.repository
        self.lock = threading.RLock()

    # ------------------------------------------------------------------ start-up

    def bootstrap(self) -> dict[Role, int]:
        """Build an empty repository (untrained version 1), tidy an existing one, load it into
        Triton."""
        with self.lock:
            self.path.mkdir(parents=True, exist_ok=True)
            repo = ModelRepository(self.path)
            if ENSEMBLE not in repo:
                if list(repo.models):
                    raise ConfigError(
                        f"model repository {self.path} holds {sorted(repo.models)} but no "
                        f"{ENSEMBLE}; give the exporter "
                        "an empty directory or one it built"
                    )
                self._build_placeholder(repo)
            else:
                self._check_matches(repo)
                self._remove_orphans(repo)
            pins = (
                reconcile(self.path, self.url) if self.url is not None else read_versions(self.path)
            )
            logger.info(
                "serving %s: production %d, canary %d",
                ENSEMBLE,
                pins[Role.PRODUCTION],
                pins[Role.CANARY],
            )
            return pins

    def _build_placeholder(self, repo: ModelRepository) -> None:
        s = self.settings
        info = VersionInfo(
            trained=False,
            bands=[list(b) for b in s.bands],
            filter_bands=[list(b) for b in s.filter_bands],
        )
        with repo.transaction():
            version, _ = add_version(
                repo,
                self.target,
                self.channels,
                untrained_model(len(self.channels.witnesses)),
                self.spec,
                info,
            )
            build_stream(self.path, self.spec, production=version, canary=version)
        logger.info(
            "built %s in %s with the untrained %s version %d",
            ENSEMBLE,
            self.path,
            DEEPCLEAN,
            version,
        )

    def _check_matches(self, repo: ModelRepository) -> None:
        have = repo[ENSEMBLE].parameters
        want = {
            "channels": list(self.spec.channels),
            "sample_rate": self.spec.sample_rate,
            "kernel_length": self.spec.kernel_length,
            "stride_length": self.spec.stride_length,
            "batch_size": self.spec.batch_size,
            "max_latencies": list(self.spec.max_latencies),
            "streams": self.spec.streams,
            "stream_mode": self.spec.stream_mode.value,
        }
        have.setdefault("stream_mode", "windowed")  # repositories built before the stream modes
        differ = [
            f"{k} {have.get(k)!r} (settings: {want[k]!r})"
            for k in GEOMETRY_KEYS
            if have.get(k) != want[k]
        ]
        if differ:
            raise ConfigError(
                f"model repository {self.path} was built with other settings: "
                + "; ".join(differ)
                + "; use the settings (profile) it was built with, or a new repository"
                + (
                    "; a repository built before contiguous became the default stream mode needs "
                    "stream_mode windowed (DEEPCLEAN_EXPORTER_STREAM_MODE=windowed)"
                    if (have["stream_mode"], want["stream_mode"]) == ("windowed", "contiguous")
                    else ""
                )
            )
        platform = repo[DEEPCLEAN].platform
        if platform is not Platform(self.target.platform.value):
            raise ConfigError(
                f"model repository {self.path}: {DEEPCLEAN} is {platform.value}, the settings say "
                f"platform {self.target.platform.value}; all versions share one platform"
            )

    def _remove_orphans(self, repo: ModelRepository) -> None:
        """Remove what an export interrupted by a crash left: temporary folders, and versions newer
        than every pinned one (an export that never became the canary; the run is exported again),
        except the versions a rollback retired (config parameter ``retired_versions``)."""
        dc = repo[DEEPCLEAN]
        for tmp in dc.path.glob(".export-*"):
            shutil.rmtree(tmp, ignore_errors=True)
        pins = read_versions(self.path)
        retired = set(dc.parameters.get(RETIRED) or ())
        orphans = [v for v in dc.versions if v > max(pins.values()) and v not in retired]
        if orphans:
            logger.warning(
                "removing %s version(s) %s left by an interrupted export", DEEPCLEAN, orphans
            )
            self._remove_versions(dc, orphans)

    # ------------------------------------------------------------------ queries

    def versions(self) -> dict[str, Any]:
        """``{"production": {...}, "canary": {...}, "others": [...]}`` from the repository on disk.

        Reads without the lock (every file is replaced atomically), so it answers during an export.
        """
        repo = ModelRepository(self.path)
        dc = repo[DEEPCLEAN]
        pins = read_versions(self.path)
        infos = version_infos(dc)

        def entry(v: int) -> dict:
            return {
                "version": v,
                **(infos.get(v) or VersionInfo(trained=True)).to_json(),
                "verified": _verified(dc.path / str(v)),
            }

        used = set(pins.values())
        return {
            "production": entry(pins[Role.PRODUCTION]),
            "canary": entry(pins[Role.CANARY]),
            "others": [entry(v) for v in dc.versions if v not in used],
        }

    def exported_version(self, model_dir: Path) -> int | None:
        """The version on disk exported from ``model_dir``, if any (read without the lock)."""
        dc = ModelRepository(self.path)[DEEPCLEAN]
        found = [
            v
            for v, i in version_infos(dc).items()
            if i.model_dir == str(model_dir) and v in dc.versions
        ]
        return max(found, default=None)

    # ------------------------------------------------------------------ changes

    def export(self, trained: TrainedModel) -> int:
        """Export ``trained`` as a new version, load it as the canary, check Triton serves it;
        return the version."""
        with self.lock:
            existing = self.exported_version(Path(trained.info.model_dir))
            if existing is not None:
                return existing
            repo = ModelRepository(self.path)
            pins = read_versions(self.path)
            with repo.transaction():
                version, _ = add_version(
                    repo,
                    self.target,
                    self.channels,
                    trained.module,
                    self.spec,
                    trained.info,
                    span=trained.span,
                )
                set_versions(
                    self.path, production=pins[Role.PRODUCTION], canary=version, url=self.url
                )
                try:
                    self._check_served(version, trained.module)
                except ExportError:
                    set_versions(
                        self.path,
                        production=pins[Role.PRODUCTION],
                        canary=pins[Role.CANARY],
                        url=self.url,
                    )
                    raise
            self._retain(version)
            return version

    def promote(self, version: Any) -> dict[str, Any]:
        """Make the canary ``version`` production; RequestError if it is not the canary or may
        not be.

        Naming the version guards against promoting a canary that changed since the caller
        judged it. The canary stays as it is; the promotion is appended to the production
        history (:mod:`~deepclean.services.exporter.history`) that :meth:`rollback` follows.
        """
        version = _check_version(version, "version")
        with self.lock:
            dc = ModelRepository(self.path)[DEEPCLEAN]
            pins = read_versions(self.path)
            self._check_promotable(dc, version)
            if version != pins[Role.CANARY]:
                raise RequestError(
                    409,
                    f"version {version} is not the canary (canary {pins[Role.CANARY]}, production "
                    f"{pins[Role.PRODUCTION]}); POST /promote promotes the canary only, "
                    "POST /rollback goes back to the previous production version",
                )
            history = current_history(dc.parameters, pins[Role.PRODUCTION], dc.versions)
            self._record_history(dc, promoted(history, version))
            return self._switch(dc, pins, version)

    def rollback(self, production: Any) -> dict[str, Any]:
        """Make the version that was production before ``production`` (which must be the current
        one) production again, and the canary too; the newer versions are retired, so the
        monitor does not promote them straight back. RequestError if there is none to go to."""
        production = _check_version(production, "production")
        with self.lock:
            dc = ModelRepository(self.path)[DEEPCLEAN]
            pins = read_versions(self.path)
            if production != pins[Role.PRODUCTION]:
                raise RequestError(
                    409,
                    f"version {production} is not production (production is "
                    f"{pins[Role.PRODUCTION]}); name the version you roll back from",
                )
            history = current_history(dc.parameters, production, dc.versions)
            target = rollback_target(history)
            if target is None:
                raise RequestError(
                    409,
                    f"no production version before {production} is recorded on disk "
                    f"(history {history}); nothing to roll back to",
                )
            self._check_promotable(dc, target)
            self._record_history(dc, history[:-1])
            return self._switch(dc, pins, target)

    def _check_promotable(self, dc, version: int) -> None:
        if version not in dc.versions:
            raise RequestError(
                404, f"{DEEPCLEAN} has no version {version}; versions on disk: {dc.versions}"
            )
        info = version_infos(dc).get(version)
        if info is not None and not info.trained:
            raise RequestError(
                409,
                f"{DEEPCLEAN} version {version} is the untrained placeholder; "
                "promote a trained version",
            )
        if not _verified(dc.path / str(version)):
            raise RequestError(
                409,
                f"{DEEPCLEAN} version {version} has no passed verification ({STATUS_FILENAME})",
            )

    def _record_history(self, dc, history: list[int]) -> None:
        """Written before the switch; :func:`current_history` repairs it if the switch fails."""
        if dc.parameters.get(PRODUCTION_HISTORY) != history:
            dc.set_parameters({PRODUCTION_HISTORY: history})
            dc.write_config()

    def _switch(self, dc, pins: dict[Role, int], version: int) -> dict[str, Any]:
        """Serve ``version`` as production; a version older than production also becomes the
        canary and retires the newer ones (recorded in ``retired_versions``)."""
        rollback = version < pins[Role.PRODUCTION]
        canary = version if rollback and pins[Role.CANARY] > version else pins[Role.CANARY]
        newer = [v for v in dc.versions if v > version] if rollback else []
        if (
            newer
        ):  # recorded before the switch: a restart must not take them for an interrupted export
            dc.set_parameters({RETIRED: sorted(set(dc.parameters.get(RETIRED) or ()) | set(newer))})
            dc.write_config()
        started = time.perf_counter()
        previous = set_versions(self.path, production=version, canary=canary, url=self.url)
        seconds = time.perf_counter() - started
        if previous[Role.PRODUCTION] != version:
            logger.info(
                "%s %s version %d to production (was %d; canary %d, was %d) in %.2f s",
                "rolled back" if rollback else "promoted",
                DEEPCLEAN,
                version,
                previous[Role.PRODUCTION],
                canary,
                previous[Role.CANARY],
                seconds,
            )
        return {
            "production": version,
            "canary": canary,
            "seconds": round(seconds, 3),
            "previous": {
                "production": previous[Role.PRODUCTION],
                "canary": previous[Role.CANARY],
            },
        }

    def _retain(self, newest: int) -> None:
        """Keep the last ``keep_versions`` versions on disk; never production, canary, ``newest``
        or the version a rollback would go back to."""
        dc = ModelRepository(self.path)[DEEPCLEAN]
        pins = read_versions(self.path)
        target = rollback_target(current_history(dc.parameters, pins[Role.PRODUCTION], dc.versions))
        keep = set(pins.values()) | {newest} | set(dc.versions[-self.settings.keep_versions :])
        info = version_infos(dc).get(target) if target is not None else None
        if target is not None and (info is None or info.trained):  # not the placeholder
            keep.add(target)
        old = [v for v in dc.versions if v not in keep]
        if old:
            logger.info(
                "removing %s version(s) %s (keeping %d)",
                DEEPCLEAN,
                old,
                self.settings.keep_versions,
            )
            self._remove_versions(dc, old)

    def _remove_versions(self, dc, versions: list[int]) -> None:
        """Delete version folders (and their records) that Triton is not to serve: out of the policy
        too."""
        policy = specific_versions(dc.config)
        if policy and set(policy) & set(versions):
            dc.keep_versions([v for v in policy if v not in versions])
        params = dc.parameters
        for key in (VERSION_INFO, "training_spans"):
            if isinstance(params.get(key), dict):
                dc.set_parameters(
                    {
                        key: {
                            k: v
                            for k, v in params[key].items()
                            if k not in {str(x) for x in versions}
                        }
                    }
                )
        if isinstance(params.get(RETIRED), list):
            dc.set_parameters({RETIRED: [v for v in params[RETIRED] if v not in versions]})
        dc.write_config()
        for version in versions:
            shutil.rmtree(dc.path / str(version), ignore_errors=True)

    def _check_served(self, version: int, module: torch.nn.Module) -> None:
        """Run one window batch through the served version and compare with torch (ExportError if it
        differs)."""
        if self.url is None:
            return
        from tritonclient.grpc import InferenceServerClient, InferInput

        g = self.spec.geometry()
        x = (
            np.random.default_rng(version)
            .standard_normal((1, self.spec.num_witnesses, g.input_size))
            .astype(np.float32)
        )
        client = InferenceServerClient(self.url)
        try:
            if not client.is_model_ready(DEEPCLEAN, str(version)) or not client.is_model_ready(
                ENSEMBLE
            ):
                raise ExportError(
                    f"Triton at {self.url} does not serve {DEEPCLEAN} version {version} "
                    "after loading it"
                )
            request = InferInput(INPUT_NAME, list(x.shape), "FP32")
            request.set_data_from_numpy(x)
            served = client.infer(DEEPCLEAN, [request], model_version=str(version)).as_numpy(
                OUTPUT_NAME
            )
        finally:
            client.close()
        with torch.no_grad():
            want = module(torch.from_numpy(x)).numpy()
        error = float(np.max(np.abs(served - want)))
        scale = float(np.max(np.abs(want)))
        if not np.all(np.isfinite(served)) or error > 1e-3 * scale + 1e-30:
            raise ExportError(
                f"{DEEPCLEAN} version {version} served by Triton differs from the torch model "
                f"(max error {error:.3g}, scale {scale:.3g})"
            )


def _check_version(version: Any, field: str) -> int:
    """``version`` if it is a positive integer (a DeepClean version), else RequestError 400."""
    if version is None:
        raise RequestError(400, f'field "{field}" is required: the {DEEPCLEAN} version, e.g. 3')
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RequestError(
            400, f"{field} must be a positive integer (a {DEEPCLEAN} version), got {version!r}"
        )
    return version


def _verified(folder: Path) -> bool:
    try:
        return bool(json.loads((folder / STATUS_FILENAME).read_text())["verification"]["passed"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
