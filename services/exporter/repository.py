"""The live model repository as the exporter sees it: start-up, exports, promotions, retention.

The repository on disk is the state: the ensemble config pins production and canary, and
DeepClean's ``version_info`` parameter says what each version is. One lock serialises every
change; Triton is told through ``utils/triton/versions`` (``set_versions``, ``reconcile``), so
the streaming models are never reloaded under running streams. ``url=None`` runs without a
server (configs only), for tests and offline use.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from deepclean.services.exporter.export import (
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
from deepclean.services.exporter.layout import (
    GEOMETRY_KEYS,  # noqa: F401  (re-exported: it lived here)
    RETIRED,
    check_matches,
    check_promotable,
    check_version,
    remove_orphans,
    retain,
    verified,
)
from deepclean.services.exporter.runs import RequestError
from deepclean.services.exporter.served_check import check_served
from deepclean.services.exporter.settings import ExporterSettings
from deepclean.utils.channels import ChannelList
from deepclean.utils.errors import ConfigError, ExportError
from deepclean.utils.export import ModelRepository
from deepclean.utils.products import VersionInfo
from deepclean.utils.triton.ensemble import build_stream
from deepclean.utils.triton.names import DEEPCLEAN, ENSEMBLE, Role
from deepclean.utils.triton.versions import read_versions, reconcile, set_versions

logger = logging.getLogger(__name__)


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
                check_matches(self.path, repo, self.spec, self.target)
                remove_orphans(self.path, repo)
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
                "verified": verified(dc.path / str(v)),
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
                    check_served(self.url, self.spec, version, trained.module)
                except ExportError:
                    set_versions(
                        self.path,
                        production=pins[Role.PRODUCTION],
                        canary=pins[Role.CANARY],
                        url=self.url,
                    )
                    raise
            retain(self.path, version, self.settings.keep_versions)
            return version

    def promote(self, version: Any) -> dict[str, Any]:
        """Make the canary ``version`` production; RequestError if it is not the canary or may
        not be.

        Naming the version guards against promoting a canary that changed since the caller
        judged it. The canary stays as it is; the promotion is appended to the production
        history (:mod:`~deepclean.services.exporter.history`) that :meth:`rollback` follows.
        """
        version = check_version(version, "version")
        with self.lock:
            dc = ModelRepository(self.path)[DEEPCLEAN]
            pins = read_versions(self.path)
            check_promotable(dc, version)
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
        production = check_version(production, "production")
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
            check_promotable(dc, target)
            self._record_history(dc, history[:-1])
            return self._switch(dc, pins, target)

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
