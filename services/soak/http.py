"""GET a JSON or text answer from a local service; None when it does not answer (the soak asks
services that may be restarting)."""

from __future__ import annotations

import json
import urllib.request


def get_json(url: str, timeout: float = 3.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def get_text(url: str, timeout: float = 3.0) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read().decode()
    except (OSError, ValueError):
        return None
