"""Typed, validated settings for every service, from four layers.

Precedence, highest first:

1. command-line flags (only the flags actually given),
2. environment variables (and a ``.env`` file in the working directory): a setting
   ``foo_bar`` of service ``svc`` is read from ``DEEPCLEAN_SVC_FOO_BAR``; settings shared
   by all services (those of :class:`SharedSettings`, e.g. ``IFO``, ``DATA_DIR``,
   ``PROJECT_DIR``) also from their plain upper-case name, as in ``.env.example``,
3. ``[tool.deepclean.<service>]`` in ``pyproject.toml``, then the shared base table
   ``[tool.deepclean]``,
4. the defaults in code.

Each service declares a frozen pydantic model deriving from :class:`SharedSettings` and
builds it in ``main()`` with :func:`load_settings`. A bad value raises
:class:`~deepclean.utils.errors.ConfigError` whose message has one line per bad setting,
naming the setting, the value, where it came from and what is allowed.

The layering is ours; parsing is done by ``tomllib``, ``python-dotenv`` and ``argparse``,
and validation by pydantic.
"""

from __future__ import annotations

import argparse
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticUndefined

from deepclean.utils.errors import ConfigError, read_text_file
from deepclean.utils.ifo import IFO

CONFIG_ENV = "DEEPCLEAN_CONFIG"  #: path of the pyproject.toml to read, overriding the search
ENV_FILE_ENV = "DEEPCLEAN_ENV_FILE"  #: path of the .env file to read (default ./.env)
_REPO_PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
#: the same file as shipped inside an installed (non-editable) package, where the repository's is
# absent : (``setup.py`` copies it at build time): the profiles and defaults of ``[tool.deepclean]``
_PACKAGED_PYPROJECT = Path(__file__).resolve().with_name("defaults.toml")

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

#: the last GPS second a GWF frame can hold (LIGOTimeGPS keeps seconds in a signed 32-bit int)
MAX_GPS = 2**31 - 1
#: a GPS second a frame can start at: the type of every ``start`` setting
GPSSecond = typing.Annotated[int, Field(ge=0, le=MAX_GPS)]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    try:
        port_ok = parts.port is None or 1 <= parts.port <= 65535
    except ValueError:  # urlsplit's own check of the port
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ValueError(
            "not an HTTP URL; allowed: http(s)://HOST[:PORT][/PATH] with a port 1-65535"
        )
    return value


def _host_port(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or "/" in value or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("not a gRPC address; allowed: HOST:PORT (no scheme) with a port 1-65535")
    return value


#: an http(s) URL of another service (the exporter)
HttpUrl = typing.Annotated[str, AfterValidator(_http_url)]
#: a gRPC address HOST:PORT (Triton)
HostPort = typing.Annotated[str, AfterValidator(_host_port)]


class SharedSettings(BaseModel):
    """Settings every service shares (the base table ``[tool.deepclean]``)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False
    )  # no NaN/inf setting anywhere
    #: name of the service table ``[tool.deepclean.<service>]`` and of the env prefix
    service: ClassVar[str] = ""

    ifo: IFO = Field(IFO.H1, description="interferometer: H1, L1, V1 or K1")
    sample_rate: PositiveFloat = Field(
        4096.0, description="sample rate of every processed channel, Hz"
    )
    freq_low: list[PositiveFloat] = Field(
        [58.0], description="lower edge(s) of the cleaning band(s), Hz"
    )
    freq_high: list[PositiveFloat] = Field(
        [62.0], description="upper edge(s) of the cleaning band(s), Hz"
    )
    data_dir: Path = Field(
        Path("./data"), description="root of the detector frame stream (kafka/, lldetchar/)"
    )
    project_dir: Path = Field(
        Path("./project"), description="root of trained models, model repository, cleaned frames"
    )
    log_level: LogLevel = Field("INFO", description="log level")

    @model_validator(mode="after")
    def _check_bands(self) -> SharedSettings:
        if len(self.freq_low) != len(self.freq_high):
            raise ValueError(
                f"freq_low has {len(self.freq_low)} band edge(s) and freq_high "
                f"{len(self.freq_high)}; "
                "give one low and one high edge per band"
            )
        for low, high in zip(self.freq_low, self.freq_high):
            if not low < high < self.sample_rate / 2:
                raise ValueError(
                    f"band {low}-{high} Hz is not allowed: need freq_low < freq_high < Nyquist "
                    f"({self.sample_rate / 2} Hz)"
                )
        return self

    @property
    def bands(self) -> list[tuple[float, float]]:
        """The cleaning bands as ``(low, high)`` pairs in Hz."""
        return list(zip(self.freq_low, self.freq_high))


# --------------------------------------------------------------------------- layers


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
    import io

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


# --------------------------------------------------------------------------- outputs


def check_output_dir(path: Path, setting: str) -> Path:
    """Check, before any work, that directory ``path`` (setting ``setting``) is or can become a
    writable directory; raise :class:`ConfigError` naming the setting and the path otherwise.
    Nothing is created (a probe file in the nearest existing folder is removed at once)."""
    import tempfile

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


# --------------------------------------------------------------------------- flags


def _flag_type(annotation: Any) -> tuple[Any, dict[str, Any]]:
    """argparse keyword arguments for a field annotation (values are validated by pydantic)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _flag_type(non_none[0])
    if origin is typing.Annotated:
        return _flag_type(args[0])
    if annotation is bool:
        return None, {"action": argparse.BooleanOptionalAction}
    if origin in (list, tuple):
        return None, {"nargs": "+"}
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return None, {"choices": [m.value for m in annotation]}
    if origin is Literal:
        return None, {"choices": list(args)}
    return None, {}


def _as_typed(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return " ".join(_as_typed(v) for v in value) if value else "none"
    return str(value)


def show_default(name: str, field: Any) -> str:
    """A field's default as a user would type it on the command line: ``none``, list items
    separated by spaces, enum values, ``--flag``/``--no-flag`` for switches, ``required``."""
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if isinstance(value, bool):
        return f"--{name.replace('_', '-')}" if value else f"--no-{name.replace('_', '-')}"
    return _as_typed(value)


def add_settings_flags(
    parser: argparse.ArgumentParser, cls: type[BaseModel], *, exclude: set[str] = frozenset()
) -> None:
    """Add one ``--flag`` per field of ``cls``; a flag not given leaves the attribute unset."""
    group = parser.add_argument_group(f"{getattr(cls, 'service', '') or 'shared'} settings")
    for name, field in cls.model_fields.items():
        if name in exclude:
            continue
        _, kwargs = _flag_type(field.annotation)
        help_text = f"{field.description or name} (default: {show_default(name, field)})"
        group.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            default=argparse.SUPPRESS,
            help=help_text.replace("%", "%%"),
            **kwargs,
        )


def add_command(
    subparsers: argparse._SubParsersAction,
    name: str,
    cls: type[BaseModel],
    *,
    help: str,
    description: str,
    exclude: set[str] = frozenset(),
    first: typing.Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.ArgumentParser:
    """A ``deepclean <name>`` subcommand whose flags are the fields of ``cls`` (see
    :func:`add_settings_flags`); ``first`` adds flags that lead the usage line (e.g.
    ``--profile``)."""
    parser = subparsers.add_parser(
        name,
        help=help,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if first is not None:
        first(parser)
    add_settings_flags(parser, cls, exclude=exclude)
    return parser


def given_flags(namespace: argparse.Namespace, cls: type[BaseModel]) -> dict[str, Any]:
    """The fields of ``cls`` that were given on the command line."""
    return {k: v for k, v in vars(namespace).items() if k in cls.model_fields}
