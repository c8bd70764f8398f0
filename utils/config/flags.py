"""Command-line flags generated from the fields of a settings model (argparse)."""

from __future__ import annotations

import argparse
import types
import typing
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel
from pydantic_core import PydanticUndefined


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
        described = " ".join((field.description or name).split())  # a docstring's line breaks
        help_text = f"{described} (default: {show_default(name, field)})"
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
