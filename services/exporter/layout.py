"""What the exporter checks and tidies in the model repository on disk.

Pure functions over :class:`~deepclean.utils.export.ModelRepository` objects, used by
:class:`~deepclean.services.exporter.repository.ModelStore` under its lock: whether an existing
repository matches the settings, removing what an interrupted export left and what retention
drops (versions with their records), whether a version may be promoted and passed verification,
and the check of a version number from a request.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from deepclean.services.exporter.export import ExportTarget, version_infos
from deepclean.services.exporter.history import current_history, rollback_target
from deepclean.services.exporter.runs import RequestError
from deepclean.utils.errors import ConfigError
from deepclean.utils.export import STATUS_FILENAME, ModelRepository, Platform
from deepclean.utils.export.config import specific_versions
from deepclean.utils.products import VERSION_INFO
from deepclean.utils.triton.ensemble import StreamSpec
from deepclean.utils.triton.names import (
    DEEPCLEAN,
    ENSEMBLE,
    GEOMETRY_PARAMETERS,
    STREAM_MODE,
    Role,
)
from deepclean.utils.triton.versions import read_versions

logger = logging.getLogger(__name__)

#: ensemble parameters that must agree with the settings for the exporter to take a repository over
GEOMETRY_KEYS = (*GEOMETRY_PARAMETERS, "streams", STREAM_MODE)


#: DeepClean config parameter: versions a rollback retired from the canary slot
RETIRED = "retired_versions"


def check_matches(
    path: Path, repo: ModelRepository, spec: StreamSpec, target: ExportTarget
) -> None:
    """ConfigError unless the repository at ``path`` was built with the geometry of ``spec`` and
    the platform of ``target`` (the exporter takes over only a repository it could have built)."""
    have = repo[ENSEMBLE].parameters
    want = spec.geometry_parameters()
    have.setdefault("stream_mode", "windowed")  # repositories built before the stream modes
    differ = [
        f"{k} {have.get(k)!r} (settings: {want[k]!r})"
        for k in GEOMETRY_KEYS
        if have.get(k) != want[k]
    ]
    if differ:
        raise ConfigError(
            f"model repository {path} was built with other settings: "
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
    if platform is not Platform(target.platform.value):
        raise ConfigError(
            f"model repository {path}: {DEEPCLEAN} is {platform.value}, the settings say "
            f"platform {target.platform.value}; all versions share one platform"
        )


def remove_orphans(path: Path, repo: ModelRepository) -> None:
    """Remove what an export interrupted by a crash left: temporary folders, and versions newer
    than every pinned one (an export that never became the canary; the run is exported again),
    except the versions a rollback retired (config parameter ``retired_versions``)."""
    dc = repo[DEEPCLEAN]
    for tmp in dc.path.glob(".export-*"):
        shutil.rmtree(tmp, ignore_errors=True)
    pins = read_versions(path)
    retired = set(dc.parameters.get(RETIRED) or ())
    orphans = [v for v in dc.versions if v > max(pins.values()) and v not in retired]
    if orphans:
        logger.warning(
            "removing %s version(s) %s left by an interrupted export", DEEPCLEAN, orphans
        )
        remove_versions(dc, orphans)


def remove_versions(dc, versions: list[int]) -> None:
    """Delete version folders (and their records) that Triton is not to serve: out of the policy
    too."""
    policy = specific_versions(dc.config)
    if policy and set(policy) & set(versions):
        dc.keep_versions([v for v in policy if v not in versions])
    params = dc.parameters
    for key in (VERSION_INFO, "training_spans"):
        if isinstance(params.get(key), dict):
            dc.set_parameters(
                {key: {k: v for k, v in params[key].items() if k not in {str(x) for x in versions}}}
            )
    if isinstance(params.get(RETIRED), list):
        dc.set_parameters({RETIRED: [v for v in params[RETIRED] if v not in versions]})
    dc.write_config()
    for version in versions:
        shutil.rmtree(dc.path / str(version), ignore_errors=True)


def retain(path: Path, newest: int, keep_versions: int) -> None:
    """Keep the last ``keep_versions`` versions on disk; never production, canary, ``newest``
    or the version a rollback would go back to."""
    dc = ModelRepository(path)[DEEPCLEAN]
    pins = read_versions(path)
    target = rollback_target(current_history(dc.parameters, pins[Role.PRODUCTION], dc.versions))
    keep = set(pins.values()) | {newest} | set(dc.versions[-keep_versions:])
    info = version_infos(dc).get(target) if target is not None else None
    if target is not None and (info is None or info.trained):  # not the placeholder
        keep.add(target)
    old = [v for v in dc.versions if v not in keep]
    if old:
        logger.info(
            "removing %s version(s) %s (keeping %d)",
            DEEPCLEAN,
            old,
            keep_versions,
        )
        remove_versions(dc, old)


def check_promotable(dc, version: int) -> None:
    """RequestError unless ``version`` is on disk, trained and verified (may be production)."""
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
    if not verified(dc.path / str(version)):
        raise RequestError(
            409,
            f"{DEEPCLEAN} version {version} has no passed verification ({STATUS_FILENAME})",
        )


def check_version(version: Any, field: str) -> int:
    """``version`` if it is a positive integer (a DeepClean version), else RequestError 400."""
    if version is None:
        raise RequestError(400, f'field "{field}" is required: the {DEEPCLEAN} version, e.g. 3')
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RequestError(
            400, f"{field} must be a positive integer (a {DEEPCLEAN} version), got {version!r}"
        )
    return version


def verified(folder: Path) -> bool:
    """Whether the version folder's status file records a passed verification."""
    try:
        return bool(json.loads((folder / STATUS_FILENAME).read_text())["verification"]["passed"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
