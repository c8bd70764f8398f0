"""Reading an exporter request's JSON body: the object itself, its allowed fields, and who
sends it with which evidence (for the audit log)."""

from __future__ import annotations

import json
from typing import Any

from flask import g, request

from deepclean.services.exporter.runs import RequestError
from deepclean.utils.audit import Actor

#: what a token-holding request may declare itself to be (``"by"``), for the audit log
DECLARED = {Actor.MONITOR, Actor.TRAINER, Actor.CLI}


def json_body(*, required: bool) -> dict[str, Any]:
    """The request's JSON object (``{}`` for an empty body unless ``required``; 400 otherwise)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise RequestError(400, "request body is empty; send a JSON object")
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(400, f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise RequestError(400, f"request body must be a JSON object, got {type(body).__name__}")
    return body


def check_fields(body: dict[str, Any], allowed: set[str], shape: str) -> None:
    """400 naming the fields of ``body`` other than ``allowed``, ``by`` and ``evidence``."""
    unknown = sorted(set(body) - allowed - {"by", "evidence"})
    if unknown:
        raise RequestError(
            400,
            f"unknown field(s) {unknown}; the body is {shape}, optionally with "
            '"by" and "evidence" for the audit log',
        )


def origin_of(body: dict[str, Any]) -> tuple[Actor, dict[str, Any]]:
    """Who sends the request (``g.who``, refined by a declared ``"by"``) and the evidence."""
    who: Actor = g.who
    by, evidence = body.get("by"), body.get("evidence", {})
    if by is not None and by not in {a.value for a in DECLARED}:
        raise RequestError(
            400, f'"by" is {by!r}; allowed: {", ".join(sorted(a.value for a in DECLARED))}'
        )
    if not isinstance(evidence, dict):
        raise RequestError(400, f'"evidence" must be a JSON object, got {type(evidence).__name__}')
    origin = {"remote_addr": request.remote_addr}
    if by is not None and who is Actor.REQUEST:
        who = Actor(by)
    elif by is not None:
        origin["declared_by"] = by  # an unauthenticated request: recorded, not believed
    return who, {**evidence, **origin}
