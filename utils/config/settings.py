"""The shared settings model and the value types settings are declared with."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PositiveFloat, model_validator

from deepclean.utils.ifo import IFO

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

#: the last GPS second a GWF frame can hold (LIGOTimeGPS keeps seconds in a signed 32-bit int)
MAX_GPS = 2**31 - 1
#: a GPS second a frame can start at: the type of every ``start`` setting
GPSSecond = typing.Annotated[int, Field(ge=0, le=MAX_GPS)]
#: a length of a span of frames, seconds (at least one; no longer than GPS time runs)
GPSDuration = typing.Annotated[int, Field(gt=0, le=MAX_GPS)]
#: a TCP port a service listens on
Port = typing.Annotated[int, Field(ge=1, le=65535)]
#: a TCP port, or 0 (what 0 means, any free port or none, the setting says)
PortOrZero = typing.Annotated[int, Field(ge=0, le=65535)]


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


class SettingsGroup(BaseModel):
    """Settings declared together; a command's settings class inherits the groups it needs.

    A field's description (its ``--help`` text) is the docstring under it.
    """

    model_config = ConfigDict(use_attribute_docstrings=True)


class SharedSettings(SettingsGroup):
    """Settings every service shares (the base table ``[tool.deepclean]``)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False
    )  # no NaN/inf setting anywhere
    #: name of the service table ``[tool.deepclean.<service>]`` and of the env prefix
    service: ClassVar[str] = ""

    ifo: IFO = IFO.H1
    """interferometer: H1, L1, V1 or K1"""
    sample_rate: PositiveFloat = 4096.0
    """sample rate of every processed channel, Hz"""
    freq_low: list[PositiveFloat] = [58.0]
    """lower edge(s) of the cleaning band(s), Hz"""
    freq_high: list[PositiveFloat] = [62.0]
    """upper edge(s) of the cleaning band(s), Hz"""
    data_dir: Path = Path("./data")
    """root of the detector frame stream (kafka/, lldetchar/)"""
    project_dir: Path = Path("./project")
    """root of trained models, model repository, cleaned frames"""
    log_level: LogLevel = "INFO"
    """log level"""

    @model_validator(mode="after")
    def _check_bands(self) -> SharedSettings:
        check_paired(
            self, "freq_low", "freq_high", "band edge(s)", "one low and one high edge per band"
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


def check_paired(settings: BaseModel, first: str, second: str, entries: str, wanted: str) -> None:
    """``ValueError`` unless the list settings ``first`` and ``second`` of ``settings`` have as
    many entries (``entries`` says what one entry is, ``wanted`` what to give)."""
    a, b = getattr(settings, first), getattr(settings, second)
    if len(a) != len(b):
        raise ValueError(f"{first} has {len(a)} {entries} and {second} {len(b)}; give {wanted}")


Parameters = TypeVar("Parameters")


def parameters_from(cls: type[Parameters], settings: BaseModel, **converted: Any) -> Parameters:
    """A ``cls`` (a dataclass) holding the values of the settings of the same names; ``converted``
    gives the values of the fields whose settings hold them in another form (a list for a
    frozenset, text for a span)."""
    names = [f.name for f in dataclasses.fields(cls) if f.name not in converted]
    return cls(**{name: getattr(settings, name) for name in names}, **converted)
