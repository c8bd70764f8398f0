"""The exporter's HTTP API: a Flask app over a :class:`ModelStore` (JSON in and out).

=====================  ==========================================================================
``GET /health``        200 while the export worker runs, 503 with the reason when it died
``GET /ready``         200 when Triton answers and ``deepclean-stream`` is ready, else 503
``GET /versions``      production, canary and the other versions on disk with their training runs
``POST /models``       the trainer's notification ``{"model_dir": ...}``: 202 with a job
``GET /jobs/<id>``     queued, running, done (with the version) or failed (with the reason)
``POST /promote``      ``{"version": N}``: the canary N becomes production (409: not the canary)
``POST /rollback``     ``{"production": N}``: production N gives way to the production before it
``GET /metrics``       Prometheus text format
=====================  ==========================================================================

Errors are ``{"error": "..."}`` with a 4xx/5xx status. Every request other than GET/HEAD
needs ``Authorization: Bearer <token>`` and a JSON body (:mod:`.access`). A POST may say
who sends it (``"by"``: ``monitor``, ``trainer`` or ``cli``) and why (``"evidence": {...}``);
both go into the audit log (:mod:`deepclean.utils.audit`) with every export, promotion and
rollback.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from deepclean.services.exporter.access import Access, AccessError
from deepclean.services.exporter.bodies import DECLARED, check_fields, json_body, origin_of
from deepclean.services.exporter.core import Exporter
from deepclean.services.exporter.jobs import JobStatus
from deepclean.services.exporter.repository import ModelStore
from deepclean.services.exporter.runs import RequestError
from deepclean.services.exporter.settings import ExporterSettings
from deepclean.utils.auth import read_token
from deepclean.utils.errors import DeepCleanError, ServerUnavailableError

__all__ = ["DECLARED", "Exporter", "create_app"]  # Exporter and DECLARED lived here

logger = logging.getLogger(__name__)


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status


def create_app(
    settings: ExporterSettings,
    store: ModelStore,
    *,
    token: str | None = None,
    exporter: Exporter | None = None,
) -> Flask:
    """The Flask app over a started (bootstrapped) ``store``.

    ``token`` default: :func:`~deepclean.utils.auth.read_token` (``$DEEPCLEAN_TOKEN``, then
    ``.env``); ``""`` means none, which refuses every POST unless
    ``settings.insecure_no_token``.
    """
    access = Access(read_token() if token is None else token or None, settings.insecure_no_token)
    app = Flask("deepclean.exporter")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    service = exporter or Exporter(settings, store)
    app.extensions["exporter"] = service
    app.extensions["access"] = access
    _add_hooks(app, access, service)
    _add_error_handlers(app, settings)
    _add_read_routes(app, service)
    _add_change_routes(app, service, settings)
    return app


def _add_hooks(app: Flask, access: Access, service: Exporter) -> None:
    """Check every request's access before it runs; count and log it after."""

    @app.before_request
    def _start():
        g.started = time.perf_counter()
        if request.routing_exception is not None:
            return None  # no such route or method: answered 404/405, nothing changes
        try:
            g.who = access.check(request)
        except AccessError as exc:
            return _error(exc.status, str(exc))
        return None

    @app.after_request
    def _log(response: Response) -> Response:
        ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        service.metrics.requests.labels(request.method, str(response.status_code)).inc()
        logger.info(
            "%s %s -> %d (%.0f ms)",
            request.method,
            request.full_path.rstrip("?"),
            response.status_code,
            ms,
        )
        return response


def _add_error_handlers(app: Flask, settings: ExporterSettings) -> None:
    """Every error answers ``{"error": "..."}`` with its status."""

    @app.errorhandler(RequestError)
    def _request_error(exc: RequestError):
        return _error(exc.status, str(exc))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.code == 413:
            return _error(413, f"request body larger than {settings.max_body_bytes} bytes")
        if exc.code == 405:
            allowed = ", ".join(
                sorted(m for m in exc.valid_methods or [] if m not in ("HEAD", "OPTIONS"))
            )
            return _error(
                405, f"method {request.method} is not allowed on {request.path}; allowed: {allowed}"
            )
        if exc.code == 404:
            return _error(
                404,
                f"no route {request.path}; routes: /health, /ready, /versions, /models, "
                "/jobs/<id>, /promote, /rollback, /metrics",
            )
        return _error(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(DeepCleanError)
    def _failed(exc: DeepCleanError):
        logger.error("%s %s failed: %s", request.method, request.path, exc)
        return _error(503 if isinstance(exc, ServerUnavailableError) else 500, str(exc))

    @app.errorhandler(Exception)
    def _bug(exc: Exception):
        logger.exception("%s %s: unexpected error", request.method, request.path)
        return _error(500, f"internal error ({type(exc).__name__}: {exc}); see the exporter's log")


def _add_read_routes(app: Flask, service: Exporter) -> None:
    """GET /health, /ready, /versions, /jobs, /jobs/<id>, /metrics."""

    @app.get("/health")
    def health():
        if not service.jobs.alive:
            queued = sum(j.status is JobStatus.QUEUED for j in service.jobs.jobs.copy().values())
            reason = f"export worker thread has died ({queued} job(s) queued)"
            return jsonify(status="failed", problems=[reason]), 503
        return jsonify(status="ok")

    @app.get("/ready")
    def ready():
        reason = service.ready()
        return _error(503, reason) if reason else jsonify(status="ready")

    @app.get("/versions")
    def versions():
        return jsonify(service.store.versions())

    @app.get("/jobs")
    def jobs():
        return jsonify([j.to_json() for j in service.jobs.jobs.copy().values()])

    @app.get("/jobs/<int:job_id>")
    def job(job_id: int):
        found = service.jobs.get(job_id)
        if found is None:
            raise RequestError(404, f"no job {job_id}")
        return jsonify(found.to_json())

    @app.get("/metrics")
    def metrics():
        return Response(service.metrics.text(), mimetype="text/plain; version=0.0.4")


def _add_change_routes(app: Flask, service: Exporter, settings: ExporterSettings) -> None:
    """POST /models, /promote, /rollback."""

    @app.post("/models")
    def models():
        body = json_body(required=True)
        ifo = body.get("ifo")
        if ifo is not None and ifo != str(settings.ifo):
            raise RequestError(
                422, f"the run is for IFO {ifo!r}; this exporter serves {settings.ifo}"
            )
        who, evidence = origin_of(body)
        figures = {k: v for k, v in body.items() if k not in ("model_dir", "by", "evidence")}
        job, new = service.submit(body.get("model_dir"), who, {**figures, **evidence})
        status = 200 if job.status is JobStatus.DONE else 202
        return jsonify(job.to_json()), status

    def switch(field: str, allowed: str, change):
        """A promotion or rollback: ``change(body[field], who, evidence)`` as JSON."""
        body = json_body(required=True)
        check_fields(body, {field}, allowed)
        who, evidence = origin_of(body)
        return jsonify(change(body.get(field), who, evidence))

    @app.post("/promote")
    def promote():
        return switch("version", '{"version": N} (N: the canary)', service.promote)

    @app.post("/rollback")
    def rollback():
        return switch(
            "production", '{"production": N} (N: the production version)', service.rollback
        )
