"""HTTP client of the exporter: ``GET /versions``, ``POST /promote`` and ``POST /rollback``,
retried with backoff.

A connection error, a timeout or a 5xx answer is retried ``retries`` times after
``backoff``, ``2 * backoff``, ... seconds, then reported as None/False and logged: the
monitor keeps running with what it knew. A 4xx answer is not retried (the request itself was
refused). A POST carries ``Authorization: Bearer <token>`` when a token is set, says it comes
from the monitor (``"by": "monitor"``) and carries the evidence of the decision for the
exporter's audit log.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import requests

from deepclean.utils.products import VersionInfo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelVersion:
    """One DeepClean version as the exporter describes it."""

    version: int
    info: VersionInfo

    @classmethod
    def from_json(cls, data: Any, role: str) -> ModelVersion:
        if not isinstance(data, dict) or not isinstance(data.get("version"), int):
            raise ValueError(
                f"exporter /versions: {role} is {data!r}, expected an object with an "
                "integer 'version'"
            )
        fields = {k: v for k, v in data.items() if k != "version"}
        fields.setdefault("trained", False)
        return cls(version=data["version"], info=VersionInfo.from_json(fields))


@dataclass(frozen=True)
class Versions:
    """Production and canary as served (``GET /versions``)."""

    production: ModelVersion
    canary: ModelVersion

    @classmethod
    def from_json(cls, data: Any) -> Versions:
        if not isinstance(data, dict):
            raise ValueError(f"exporter /versions answered {data!r}, expected an object")
        return cls(
            ModelVersion.from_json(data.get("production"), "production"),
            ModelVersion.from_json(data.get("canary"), "canary"),
        )


class ExporterClient:
    """Talks to the exporter at ``url`` (its base URL, e.g. ``http://127.0.0.1:5000``)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        retries: int = 4,
        backoff: float = 1.0,
        timeout: float = 10.0,
        stop: threading.Event | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token or None
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.stop = stop or threading.Event()
        self.last_error: str | None = None

    def _request(self, method: str, path: str, body: Any = None) -> requests.Response | None:
        headers = (
            {"Authorization": f"Bearer {self.token}"} if self.token and method == "POST" else {}
        )
        url = f"{self.url}{path}"
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                response = requests.request(
                    method, url, json=body, headers=headers, timeout=self.timeout
                )
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 500:
                    return response
                problem = f"HTTP {response.status_code}: {response.text[:200]}"
            self.last_error = f"{method} {url}: {problem}"
            if attempt == attempts:
                logger.error(
                    "exporter %s %s failed after %d attempt(s): %s", method, url, attempts, problem
                )
                return None
            delay = self.backoff * 2 ** (attempt - 1)
            logger.warning(
                "exporter %s %s failed (attempt %d/%d: %s); retrying in %.1f s",
                method,
                url,
                attempt,
                attempts,
                problem,
                delay,
            )
            if self.stop.wait(delay):
                return None
        return None

    def versions(self) -> Versions | None:
        """Production and canary, or None when the exporter is unreachable or answers nonsense."""
        response = self._request("GET", "/versions")
        if response is None:
            return None
        try:
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}: {response.text[:200]}")
            versions = Versions.from_json(response.json())
        except ValueError as exc:  # includes JSON decoding errors
            self.last_error = f"GET {self.url}/versions: {exc}"
            logger.error("exporter GET %s/versions: %s", self.url, exc)
            return None
        self.last_error = None
        return versions

    def promote(
        self, version: int, evidence: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """``POST /promote {"version": version}`` (the canary judged), with ``evidence`` for the
        exporter's audit log; the exporter's answer, or None (logged)."""
        return self._change(
            "/promote", {"version": version}, evidence, f"promote version {version}"
        )

    def rollback(
        self, production: int, evidence: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """``POST /rollback {"production": production}`` (the production judged bad), with
        ``evidence``; the exporter's answer, or None (logged)."""
        return self._change(
            "/rollback", {"production": production}, evidence, f"roll back version {production}"
        )

    def _change(
        self, path: str, body: dict[str, Any], evidence: dict[str, Any] | None, what: str
    ) -> dict[str, Any] | None:
        response = self._request(
            "POST", path, {**body, "by": "monitor", "evidence": dict(evidence or {})}
        )
        if response is None:
            return None
        if response.status_code != 200:
            self.last_error = (
                f"POST {self.url}{path}: HTTP {response.status_code}: {response.text[:200]}"
            )
            logger.error(
                "exporter refused to %s: HTTP %d %s",
                what,
                response.status_code,
                response.text[:200],
            )
            return None
        self.last_error = None
        try:
            return response.json()
        except ValueError:
            return {}
