"""Checks, before any work, that output paths given as settings can be written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from deepclean.utils.errors import ConfigError


def check_output_dir(path: Path, setting: str) -> Path:
    """Check, before any work, that directory ``path`` (setting ``setting``) is or can become a
    writable directory; raise :class:`ConfigError` naming the setting and the path otherwise.
    Nothing is created (a probe file in the nearest existing folder is removed at once)."""
    path = Path(path)
    where = f"setting {setting} = {str(path)!r}"
    if path.exists() and not path.is_dir():
        raise ConfigError(
            f"{where}: exists and is not a directory; allowed: a directory, or a path to "
            "create one at"
        )
    folder = path
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError(
            f"{where}: {folder} is a file, so no directory can be made under it; allowed: "
            "a directory"
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".deepclean-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(
            f"{where}: cannot write in {folder} ({exc.strerror or exc}); allowed: a "
            "writable directory"
        ) from None
    return path


def check_output_file(path: Path, setting: str) -> Path:
    """Like :func:`check_output_dir` for a file ``path``: not a directory, its folder writable."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(
            f"setting {setting} = {str(path)!r}: is a directory; allowed: a file path"
        )
    check_output_dir(path.parent, setting)
    return path
