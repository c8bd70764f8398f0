"""Reading the layers (pyproject tables, environment, ``.env``, flags) and validating them into
one settings object, with errors naming each bad setting's source."""

from __future__ import annotations

import io
import os
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import BaseModel, ValidationError

from deepclean.utils.config.settings import SharedSettings
from deepclean.utils.errors import ConfigError, read_text_file

CONFIG_ENV = "DEEPCLEAN_CONFIG"  #: path of the pyproject.toml to read, overriding the search
ENV_FILE_ENV = "DEEPCLEAN_ENV_FILE"  #: path of the .env file to read (default ./.env)
_REPO_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
#: the same file as shipped inside an installed (non-editable) package, where the repository's
#: is absent (``setup.py`` copies it at build time): the profiles and defaults of
#: ``[tool.deepclean]``
_PACKAGED_PYPROJECT = Path(__file__).resolve().parents[1] / "defaults.toml"


def find_pyproject(start: Path | None = None) -> Path | None:
    """The pyproject.toml to read: ``$DEEPCLEAN_CONFIG``, else the nearest one holding
    ``[tool.deepclean]`` from ``start`` (default: the working directory) upwards, else the
    repository's own (in an installed package: its copy, ``deepclean/utils/defaults.toml``)."""
    if os.environ.get(CONFIG_ENV):
        path = Path(os.environ[CONFIG_ENV])
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}={path}: no such file; point it at a pyproject.toml")
        return path
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and "[tool.deepclean" in candidate.read_text(errors="replace"):
            return candidate
    for shipped in (_REPO_PYPROJECT, _PACKAGED_PYPROJECT):
        if shipped.is_file():
            return shipped
    return None


def read_tables(pyproject: Path | None, service: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The base table ``[tool.deepclean]`` (scalars only) and the service table."""
    if pyproject is None:
        return {}, {}
    try:
        data = tomllib.loads(read_text_file(pyproject, "configuration file"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from exc
    base = data.get("tool", {}).get("deepclean", {})
    if not isinstance(base, dict):
        raise ConfigError(f"{pyproject}: [tool.deepclean] must be a table, got {base!r}")
    shared = {k: v for k, v in base.items() if not isinstance(v, dict)}
    table = base.get(service, {}) if service else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.deepclean].{service} must be a table, got {table!r}")
    return shared, dict(table)


def _env_names(cls: type[SharedSettings], field: str) -> list[str]:
    names = []
    if cls.service:
        names.append(f"DEEPCLEAN_{cls.service.upper().replace('-', '_')}_{field.upper()}")
    if field in SharedSettings.model_fields:
        names.append(field.upper())
    return names


def _field_is_list(cls: type[BaseModel], field: str) -> bool:
    annotation = cls.model_fields[field].annotation
    for arg in (annotation, *typing.get_args(annotation)):
        if typing.get_origin(arg) in (list, tuple):
            return True
    return False


def read_env(cls: type[SharedSettings], environ: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
    """Values from the environment, each with the name of the variable it came from."""
    found: dict[str, tuple[Any, str]] = {}
    for field in cls.model_fields:
        for name in _env_names(cls, field):
            if name in environ and environ[name] != "":
                raw = environ[name]
                value: Any = raw.replace(",", " ").split() if _field_is_list(cls, field) else raw
                found[field] = (value, f"environment variable {name}")
                break
    return found


def read_env_file(path: Path, *, explicit: bool = True) -> dict[str, str]:
    """The variables of the ``.env`` file ``path`` (none when there is no such file: pointing
    ``$DEEPCLEAN_ENV_FILE`` at a missing file is how a caller ignores ./.env); a file that is
    there must be UTF-8 text."""
    path = Path(path)
    where = f"{ENV_FILE_ENV}={path}" if explicit else f".env file {path}"
    if not path.exists():
        return {}
    if not path.is_file():
        raise ConfigError(f"{where}: not a regular file; allowed: a .env file of NAME=value lines")
    text = read_text_file(path, f".env file ({ENV_FILE_ENV})" if explicit else ".env file")
    if "\x00" in text:
        raise ConfigError(
            f"{where}: holds NUL bytes, not text; allowed: a .env file of NAME=value lines"
        )
    return {k: v for k, v in dotenv_values(stream=io.StringIO(text)).items() if v is not None}


def load_settings(
    cls: type[SharedSettings],
    cli: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    pyproject: Path | None | Literal["search"] = "search",
    env_file: Path | None | Literal["default"] = "default",
    overrides: Mapping[str, Any] | None = None,
) -> SharedSettings:
    """Build ``cls`` from flags > environment (and .env) > pyproject tables > defaults.

    ``cli`` holds only the flags the user gave (``None`` values are ignored). ``overrides``
    (e.g. a training profile) sit between the pyproject tables and the environment.
    """
    if environ is None:
        environ = os.environ
    explicit = env_file != "default" or bool(environ.get(ENV_FILE_ENV))
    if env_file == "default":
        env_file = Path(environ.get(ENV_FILE_ENV) or ".env")
    merged_env: dict[str, str] = (
        read_env_file(env_file, explicit=explicit) if env_file is not None else {}
    )
    merged_env.update(environ)
    if pyproject == "search":
        pyproject = find_pyproject()
    shared, table = read_tables(pyproject, cls.service)

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    layers: list[tuple[dict[str, Any], str]] = [
        (shared, f"[tool.deepclean] in {pyproject}"),
        (table, f"[tool.deepclean.{cls.service}] in {pyproject}"),
        (dict(overrides or {}), "profile"),
    ]
    for layer, where in layers:
        for key, value in layer.items():
            if key in cls.model_fields:
                values[key], sources[key] = value, where
            elif layer is not shared:
                raise ConfigError(
                    f"unknown setting {key!r} in {where}; allowed: "
                    f"{', '.join(sorted(cls.model_fields))}"
                )
    for key, (value, where) in read_env(cls, merged_env).items():
        values[key], sources[key] = value, where
    for key, value in (cli or {}).items():
        if value is None:
            continue
        if key not in cls.model_fields:
            raise ConfigError(f"unknown setting {key!r} on the command line")
        values[key], sources[key] = value, f"command line --{key.replace('_', '-')}"
    try:
        return cls.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc, values, sources)) from None


def require(settings: BaseModel, names: typing.Iterable[str]) -> None:
    """Raise :class:`ConfigError` with one line per setting in ``names`` that is unset or empty."""
    missing = [name for name in names if getattr(settings, name) in (None, "", [], ())]
    if missing:
        raise ConfigError(
            "\n".join(
                f"setting {name} is required: give --{name.replace('_', '-')}" for name in missing
            )
        )


def describe_errors(
    exc: ValidationError, values: Mapping[str, Any], sources: Mapping[str, str]
) -> str:
    """One line per bad setting: name, value, source, what is allowed."""
    messages: dict[str, list[str]] = {}  # a value failing every member of a union: one line
    for error in exc.errors():
        loc = error["loc"]
        key = str(loc[0]) if loc else ""
        messages.setdefault(key, []).append(error["msg"].removeprefix("Value error, "))
    lines = []
    for key, msgs in messages.items():
        msg = ", or ".join(dict.fromkeys(msgs))
        if key and key in values:
            where = sources.get(key, "default")
            lines.append(f"setting {key} = {values[key]!r} (from {where}): {msg}")
        elif key:
            lines.append(f"setting {key} (default): {msg}")
        else:
            lines.extend(f"settings: {m}" for m in dict.fromkeys(msgs))
    return "\n".join(lines)
