"""The shared token of the HTTP services: where it is read from, and the one ``up`` generates.

State-changing requests to the exporter carry ``Authorization: Bearer <token>``; the
exporter refuses them when it has no token itself, unless started with
``--insecure-no-token`` (see :mod:`deepclean.services.exporter.app`).

Every process reads the token the same way, whether started by hand, by ``./run.sh up`` or
by compose: ``$DEEPCLEAN_TOKEN`` when set and not empty, else ``DEEPCLEAN_TOKEN`` from the
``.env`` file in the working directory (or the file ``$DEEPCLEAN_ENV_FILE`` names), the
file the settings loader reads (:func:`deepclean.utils.config.load_settings`).

``./run.sh up`` without a token generates one (:func:`project_token`): 32 random bytes,
URL-safe base64, kept in ``PROJECT_DIR/token`` readable by its owner only (0600) and handed
to the processes it starts in their environment.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from deepclean.utils.config import ENV_FILE_ENV, read_env_file
from deepclean.utils.errors import ConfigError

logger = logging.getLogger(__name__)

TOKEN_ENV = "DEEPCLEAN_TOKEN"  #: the variable (environment or .env) holding the token
TOKEN_FILE = "token"  #: the file in the project directory where ``up`` keeps its token
_TOKEN_BYTES = 32
_MIN_TOKEN_CHARS = 16


def read_token(environ: Mapping[str, str] | None = None) -> str | None:
    """The token from ``environ`` (default: the process's), else from the ``.env`` file; None
    if unset."""
    environ = os.environ if environ is None else environ
    token = environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    explicit = bool(environ.get(ENV_FILE_ENV))
    env_file = Path(environ.get(ENV_FILE_ENV) or ".env")
    return read_env_file(env_file, explicit=explicit).get(TOKEN_ENV, "").strip() or None


def bearer(token: str | None) -> dict[str, str]:
    """The ``Authorization`` header for ``token`` (none without a token)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def project_token(project_dir: Path) -> str:
    """The token kept in ``project_dir/token``; generated (0600, fsynced) when there is none.

    ConfigError when the file is readable by others than its owner, or holds no usable token.
    """
    path = Path(project_dir) / TOKEN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_token_file(path)
    try:
        os.write(fd, (token + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    logger.info("generated a token in %s (mode 0600)", path)
    return token


def _read_token_file(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"token file {path} has mode {mode:04o}; allowed: readable by its owner only "
            f"(chmod 600 {path})"
        )
    token = path.read_text(encoding="utf-8", errors="replace").strip()
    if len(token) < _MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise ConfigError(
            f"token file {path} holds {len(token)} characters; allowed: one token of at least "
            f"{_MIN_TOKEN_CHARS} characters without spaces (delete the file to generate a new one)"
        )
    return token
