"""Who may change the exporter's state: the token check and the JSON-only rule for POST bodies.

Closed unless opened: a request other than GET/HEAD/OPTIONS needs
``Authorization: Bearer <token>`` with the exporter's token. An exporter without a token
refuses them all (403), unless it was started with ``--insecure-no-token``, which it then
says in a WARNING at every start. A state-changing request's body must be sent as
``Content-Type: application/json`` (415 otherwise): a web page can post a form or
``text/plain`` to 127.0.0.1 from a browser without the page's origin being checked, but
not JSON.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from flask import Request

from deepclean.utils.audit import Actor
from deepclean.utils.auth import TOKEN_ENV

logger = logging.getLogger(__name__)

OPEN_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
INSECURE_FLAG = "--insecure-no-token"
JSON_TYPE = "application/json"


class AccessError(Exception):
    """A request refused before it reached its route: ``status`` and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Access:
    """The exporter's policy: its token, or the operator's explicit choice to run without one."""

    token: str | None
    insecure_no_token: bool = False

    @property
    def open(self) -> bool:
        """True when state-changing requests are served without a token (the opt-out)."""
        return not self.token and self.insecure_no_token

    def announce(self, where: str) -> None:
        """Log at start what the policy is: a WARNING when the exporter is open or closed to all."""
        if self.token:
            if self.insecure_no_token:
                logger.warning("%s ignored: %s is set, POSTs need it", INSECURE_FLAG, TOKEN_ENV)
            logger.info("state-changing requests need the token (%s)", TOKEN_ENV)
        elif self.insecure_no_token:
            logger.warning(
                "%s: exports, promotions and rollbacks are served WITHOUT a token to anyone who "
                "can reach %s; set %s instead",
                INSECURE_FLAG,
                where,
                TOKEN_ENV,
            )
        else:
            logger.warning(
                "no token (%s unset in the environment and in .env): every POST is refused "
                "(403); set it, or start with %s",
                TOKEN_ENV,
                INSECURE_FLAG,
            )

    def check(self, request: Request) -> Actor | None:
        """None for a read; for a state-changing request who sends it, or AccessError."""
        if request.method in OPEN_METHODS:
            return None
        if not self.token:
            if not self.insecure_no_token:
                raise AccessError(
                    403,
                    f"this exporter has no token ({TOKEN_ENV} unset) and refuses state-changing "
                    f"requests; set {TOKEN_ENV} where it starts, or start it with {INSECURE_FLAG}",
                )
            who = Actor.UNAUTHENTICATED
        else:
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                raise AccessError(
                    401, f"missing header 'Authorization: Bearer <token>' ({TOKEN_ENV} is set)"
                )
            if not hmac.compare_digest(header[len("Bearer ") :].encode(), self.token.encode()):
                raise AccessError(401, "wrong token in the Authorization header")
            who = Actor.REQUEST
        if request.mimetype != JSON_TYPE:
            sent = request.headers.get("Content-Type") or "no Content-Type"
            raise AccessError(
                415, f"request body sent as {sent!r}; allowed: Content-Type: {JSON_TYPE}"
            )
        return who
