"""Which IFO a channel list belongs to, when the user did not say.

``export-model`` and the exporter take the IFO from the channel names unless one was given
explicitly (a flag, an environment variable or ``.env``); the shared default in
``pyproject.toml`` does not count as explicit. An explicit IFO that contradicts the channel
names stays an error (``parse_channels`` reports it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from deepclean.utils.channels import CHANNEL_NAME, read_channel_file
from deepclean.utils.config import ENV_FILE_ENV, SharedSettings, read_env
from deepclean.utils.ifo import IFO


def ifo_is_explicit(
    cls: type[SharedSettings], cli: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> bool:
    """True when ``ifo`` came from a flag, the environment or the ``.env`` file."""
    if cli.get("ifo") is not None:
        return True
    environ = os.environ if environ is None else environ
    merged: dict[str, str] = {}
    env_file = Path(environ.get(ENV_FILE_ENV, ".env"))
    if env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(environ)
    return "ifo" in read_env(cls, merged)


def ifo_of_channels(channels: Sequence[str | Path]) -> IFO | None:
    """The one IFO every channel name (or every name in the one channel file) belongs to, else
    None."""
    entries = [str(c) for c in channels]
    if len(entries) == 1 and ":" not in entries[0]:
        try:
            entries = read_channel_file(entries[0])
        except Exception:  # noqa: BLE001 - parse_channels reports an unreadable file later
            return None
    prefixes = {m["ifo"] for m in (CHANNEL_NAME.match(e.strip()) for e in entries) if m}
    if len(prefixes) != 1:
        return None
    try:
        return IFO(prefixes.pop())
    except ValueError:
        return None


def settings_with_channel_ifo(
    settings: SharedSettings,
    cli: Mapping[str, Any],
    channels: Sequence[str | Path],
    environ: Mapping[str, str] | None = None,
) -> SharedSettings:
    """``settings`` with the IFO of ``channels`` unless the IFO was given explicitly."""
    if ifo_is_explicit(type(settings), cli, environ):
        return settings
    ifo = ifo_of_channels(channels)
    return (
        settings if ifo is None or ifo == settings.ifo else settings.model_copy(update={"ifo": ifo})
    )
