"""Tell the exporter that a new model exists: an HTTP POST, retried with exponential backoff.

An unreachable exporter is logged and reported as False, never raised: the trainer keeps
running and the model stays on disk for the exporter to pick up later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from deepclean.utils.auth import bearer, read_token

logger = logging.getLogger(__name__)


def notify(
    url: str,
    payload: Mapping[str, Any],
    *,
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """POST ``payload`` as JSON to ``url``; retry ``retries`` times after ``backoff``,
    ``2 * backoff``, ... seconds on a connection error, timeout or 5xx answer.

    Sends ``Authorization: Bearer <token>`` with the token of
    :func:`~deepclean.utils.auth.read_token` (``$DEEPCLEAN_TOKEN``, else ``./.env``). Returns
    True when the exporter answered 2xx; False (logged) otherwise.
    """
    import requests

    headers = bearer(read_token())
    attempts = retries + 1
    for attempt in range(1, attempts + 1):
        try:
            response = requests.post(url, json=dict(payload), timeout=timeout, headers=headers)
        except requests.RequestException as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if 200 <= response.status_code < 300:
                logger.info("exporter %s accepted the model (HTTP %d)", url, response.status_code)
                return True
            problem = f"HTTP {response.status_code}: {response.text[:200]}"
            if (
                response.status_code < 500
            ):  # the exporter refused this request: retrying will not help
                logger.error("exporter %s refused the notification: %s", url, problem)
                return False
        if attempt < attempts:
            delay = backoff * 2 ** (attempt - 1)
            logger.warning(
                "notifying exporter %s failed (attempt %d/%d: %s); retrying in %.1f s",
                url,
                attempt,
                attempts,
                problem,
                delay,
            )
            sleep(delay)
        else:
            logger.error(
                "exporter %s unreachable after %d attempt(s) (%s); the model stays on disk",
                url,
                attempts,
                problem,
            )
    return False
