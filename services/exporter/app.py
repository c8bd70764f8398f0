"""The exporter's HTTP API: a Flask app over a :class:`ModelStore` (JSON in and out).

=====================  ==========================================================================
``GET /health``        200 while the export worker runs, 503 with the reason when it died
``GET /ready``         200 when Triton answers and ``deepclean-stream`` is ready, else 503
``GET /versions``      production, canary and the other versions on disk with their training runs
``POST /models``       the trainer's notification ``{"model_dir": ...}``: 202 with a job
``GET /jobs/<id>``     queued, running, done (with the version) or failed (with the reason)
``POST /promote``      ``{"version": N}`` (default: the canary) becomes production
``GET /metrics``       Prometheus text format
=====================  ==========================================================================

Errors are ``{"error": "..."}`` with a 4xx/5xx status. With ``DEEPCLEAN_TOKEN`` set, every
request other than GET/HEAD needs ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import time
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from deepclean.services.exporter.jobs import Job, JobRunner, JobStatus
from deepclean.services.exporter.metrics import ExporterMetrics
from deepclean.services.exporter.repository import ModelStore
from deepclean.services.exporter.runs import RequestError, check_run, newest_run, resolve_run
from deepclean.services.exporter.settings import ExporterSettings
from deepclean.utils.disk import watch_disk
from deepclean.utils.errors import DeepCleanError, ServerUnavailableError
from deepclean.utils.triton.names import ENSEMBLE

logger = logging.getLogger(__name__)

TOKEN_ENV = "DEEPCLEAN_TOKEN"
_OPEN_METHODS = {"GET", "HEAD", "OPTIONS"}


class Exporter:
    """The parts behind the routes: the store, the job runner and the metrics."""

    def __init__(self, settings: ExporterSettings, store: ModelStore) -> None:
        self.settings, self.store = settings, store
        self.metrics = ExporterMetrics.create()
        watch_disk(self.metrics.registry, dict.fromkeys([settings.project_dir, store.path]))
        self.jobs = JobRunner(self._work, on_done=self._done)
        self._update_gauges()

    def _work(self, job: Job) -> int:
        return self.store.export(job.data)

    def _done(self, job: Job) -> None:
        self.metrics.exports.labels("done" if job.status is JobStatus.DONE else "failed").inc()
        if job.status is JobStatus.DONE and job.started is not None:
            self.metrics.export_seconds.observe(job.finished - job.started)
        self._update_gauges()

    def _update_gauges(self) -> None:
        versions = self.store.versions()
        self.metrics.set_versions(versions["production"]["version"], versions["canary"]["version"])

    def submit(self, model_dir: Any) -> tuple[Job, bool]:
        """The job exporting the run at ``model_dir`` (checked first; RequestError if it cannot be
        exported)."""
        s = self.settings
        path = resolve_run(model_dir, s.train_dir)
        job = self.jobs.find(path)
        if job is not None:
            return job, False
        version = self.store.exported_version(path)
        if version is not None:
            return self.jobs.submit(path, version=version)
        trained = check_run(path, self.store.channels, s.sample_rate, s.ifo, s.bands)
        return self.jobs.submit(path, data=trained)

    def submit_newest(self) -> Job | None:
        """Export the newest run under ``$PROJECT_DIR/train`` unless it is exported already."""
        run = newest_run(self.settings.train_dir)
        if run is None or self.store.exported_version(run) is not None:
            return None
        try:
            job, _ = self.submit(str(run))
        except RequestError as exc:
            logger.error("newest training run %s cannot be exported: %s", run, exc)
            return None
        logger.info("newest training run %s is not exported yet: job %d", run, job.id)
        return job

    def promote(self, version: Any) -> dict[str, Any]:
        result = self.store.promote(version)
        if result["previous"]["production"] != result["production"]:
            self.metrics.promotions.inc()
            self.metrics.promotion_seconds.observe(result["seconds"])
        self._update_gauges()
        return result

    def ready(self) -> str | None:
        """None when Triton serves the ensemble, else the reason."""
        url = self.store.url
        if url is None:
            return "no Triton server configured"
        from tritonclient.grpc import InferenceServerClient

        try:
            client = InferenceServerClient(url)
            try:
                if not client.is_server_ready(client_timeout=2):
                    return f"Triton at {url} is not ready"
                if not client.is_model_ready(ENSEMBLE, client_timeout=2):
                    return f"{ENSEMBLE} is not ready on Triton at {url}"
            finally:
                client.close()
        except Exception as exc:  # noqa: BLE001 - any failure means: not ready, say why
            return (
                f"Triton at {url} unreachable: "
                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            )
        return None


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status


def _json_body(*, required: bool) -> dict[str, Any]:
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


def create_app(
    settings: ExporterSettings,
    store: ModelStore,
    *,
    token: str | None = None,
    exporter: Exporter | None = None,
) -> Flask:
    """The Flask app over a started (bootstrapped) ``store``; ``token`` default:
    ``$DEEPCLEAN_TOKEN``."""
    token = os.environ.get(TOKEN_ENV) if token is None else token
    app = Flask("deepclean.exporter")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    service = exporter or Exporter(settings, store)
    app.extensions["exporter"] = service

    @app.before_request
    def _start():
        g.started = time.perf_counter()
        if token and request.method not in _OPEN_METHODS:
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                return _error(
                    401, f"missing header 'Authorization: Bearer <token>' ({TOKEN_ENV} is set)"
                )
            if not hmac.compare_digest(header[len("Bearer ") :].encode(), token.encode()):
                return _error(401, "wrong token in the Authorization header")
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
                "/jobs/<id>, "
                "/promote, /metrics",
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

    @app.post("/models")
    def models():
        body = _json_body(required=True)
        ifo = body.get("ifo")
        if ifo is not None and ifo != str(settings.ifo):
            raise RequestError(
                422, f"the run is for IFO {ifo!r}; this exporter serves {settings.ifo}"
            )
        job, new = service.submit(body.get("model_dir"))
        status = 200 if job.status is JobStatus.DONE else 202
        return jsonify(job.to_json()), status

    @app.get("/jobs")
    def jobs():
        return jsonify([j.to_json() for j in service.jobs.jobs.copy().values()])

    @app.get("/jobs/<int:job_id>")
    def job(job_id: int):
        found = service.jobs.get(job_id)
        if found is None:
            raise RequestError(404, f"no job {job_id}")
        return jsonify(found.to_json())

    @app.post("/promote")
    def promote():
        body = _json_body(required=False)
        unknown = sorted(set(body) - {"version"})
        if unknown:
            raise RequestError(
                400,
                f'unknown field(s) {unknown}; the body is {{"version": N}} (default: the canary)',
            )
        return jsonify(service.promote(body.get("version")))

    @app.get("/metrics")
    def metrics():
        return Response(service.metrics.text(), mimetype="text/plain; version=0.0.4")

    return app
