"""The named settings profiles (``production``, ``cpu``): which one is chosen, and its table
``[tool.deepclean.profiles.<name>]`` in pyproject.toml, whose values sit between the pyproject
tables and the environment/flags of every command that takes ``--profile``."""

from __future__ import annotations

import argparse
import os
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from deepclean.utils.config import SharedSettings, find_pyproject, given_flags, load_settings
from deepclean.utils.errors import ConfigError, read_text_file

S = TypeVar("S", bound=SharedSettings)


class Profile(StrEnum):
    """Named groups of training and inference defaults."""

    PRODUCTION = "production"
    CPU = "cpu"


def default_profile() -> Profile:
    """``production`` when a CUDA GPU is visible, else ``cpu``."""
    import torch

    return Profile.PRODUCTION if torch.cuda.is_available() else Profile.CPU


PROFILE_ENV = (
    "DEEPCLEAN_PROFILE"  #: environment variable choosing the profile when --profile is not given
)


def add_profile_flag(parser: argparse.ArgumentParser) -> None:
    """``--profile {production,cpu}``; default ``$DEEPCLEAN_PROFILE``, else cpu without a GPU."""
    parser.add_argument(
        "--profile",
        choices=[p.value for p in Profile],
        default=None,
        help=f"settings profile (default: ${PROFILE_ENV}, else production with a GPU and cpu "
        "without)",
    )


def chosen_profile(
    args: argparse.Namespace | None = None, environ: dict[str, str] | None = None
) -> Profile:
    """The profile from ``args.profile``, else ``$DEEPCLEAN_PROFILE``, else
    :func:`default_profile`."""
    environ = os.environ if environ is None else environ
    name = getattr(args, "profile", None) or environ.get(PROFILE_ENV)
    if not name:
        return default_profile()
    try:
        return Profile(name)
    except ValueError:
        raise ConfigError(
            f"profile {name!r} (from ${PROFILE_ENV}) is not allowed; choose one of "
            f"{[p.value for p in Profile]}"
        ) from None


def read_profile(name: Profile | str, pyproject: Path | None = None) -> dict[str, Any]:
    """The table ``[tool.deepclean.profiles.<name>]`` (empty when there is no pyproject)."""
    profile = Profile(name)
    path = pyproject or find_pyproject()
    if path is None:
        return {}
    try:
        data = tomllib.loads(read_text_file(path, "configuration file"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    profiles = data.get("tool", {}).get("deepclean", {}).get("profiles", {})
    table = profiles.get(profile.value)
    if table is None:
        raise ConfigError(
            f"profile {profile.value!r} has no table "
            f"[tool.deepclean.profiles.{profile.value}] in {path}"
        )
    return dict(table)


def profile_overrides(
    name: Profile | str, cls: type[BaseModel], pyproject: Path | None = None
) -> dict[str, Any]:
    """The values of profile ``name`` that are fields of ``cls`` (a profile also holds
    settings of other commands, e.g. ``train_duration`` of the trainer service)."""
    return {k: v for k, v in read_profile(name, pyproject).items() if k in cls.model_fields}


def load_profiled_settings(cls: type[S], args: argparse.Namespace) -> tuple[S, str]:
    """Build ``cls`` from the command line with the chosen profile between the pyproject
    tables and the environment; return the settings and the profile's name."""
    profile = chosen_profile(args).value
    settings = load_settings(cls, given_flags(args, cls), overrides=profile_overrides(profile, cls))
    return settings, profile
