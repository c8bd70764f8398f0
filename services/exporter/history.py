"""Which DeepClean versions were production, in order: what a rollback goes back to.

The exporter keeps the list in DeepClean's config parameter ``production_history`` (oldest
first, the current production last). A promotion appends the new production; a rollback
removes the last entry and makes the one before it production again, so rolling back twice
goes back two promotions. The list is repaired against what is on disk before use
(:func:`current_history`): versions deleted by retention are dropped, and a production the
list does not end with (a repository from before the list existed, or a crash between
recording and switching) becomes its last entry. Pure: lists in, lists out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

PRODUCTION_HISTORY = "production_history"  #: DeepClean config parameter: production versions
MAX_HISTORY = 32  #: entries kept (the oldest are forgotten first)


def current_history(
    parameters: Mapping[str, Any], production: int, on_disk: Iterable[int]
) -> list[int]:
    """The recorded history, repaired: only versions on disk, ending with ``production``."""
    disk = set(on_disk)
    recorded = parameters.get(PRODUCTION_HISTORY) or []
    history = [v for v in recorded if isinstance(v, int) and v in disk]
    if production in history:
        history = history[: len(history) - history[::-1].index(production)]
    else:
        history.append(production)
    deduplicated = [v for i, v in enumerate(history) if i == 0 or v != history[i - 1]]
    return deduplicated[-MAX_HISTORY:]


def promoted(history: list[int], version: int) -> list[int]:
    """The history after ``version`` became production (unchanged if it already was)."""
    if history and history[-1] == version:
        return list(history)
    return [*history, version][-MAX_HISTORY:]


def rollback_target(history: list[int]) -> int | None:
    """The production version before the current one, or None when none is recorded."""
    return history[-2] if len(history) >= 2 else None
