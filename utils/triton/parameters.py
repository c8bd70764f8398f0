"""Model config parameters as Triton stores them: every value a string, JSON unless it is a
plain string. Light on purpose (json only): the cleaner and the monitor read served configs
without the export library (and without torch)."""

from __future__ import annotations

import json
from typing import Any


def encode_parameter(value: Any) -> str:
    """A parameter value as Triton's string: ``str`` as is (unless it would read back as JSON), else
    JSON."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
    try:
        return json.dumps(value)
    except TypeError as exc:
        raise ValueError(
            f"parameter value {value!r} is neither a string nor JSON-serialisable"
        ) from exc


def decode_parameter(text: str) -> Any:
    """Inverse of :func:`encode_parameter`."""
    try:
        return json.loads(text)
    except ValueError:
        return text
