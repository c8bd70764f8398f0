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

import json
import logging
import time
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from deepclean.services.exporter.access import Access, AccessError
from deepclean.services.exporter.jobs import Job, JobRunner, JobStatus
from deepclean.services.exporter.metrics import ExporterMetrics
from deepclean.services.exporter.repository import ModelStore
from deepclean.services.exporter.runs import RequestError, check_run, newest_run, resolve_run
from deepclean.services.exporter.settings import ExporterSettings
from deepclean.utils.audit import Actor, AuditAction, append_audit
from deepclean.utils.auth import read_token
from deepclean.utils.disk import watch_disk
from deepclean.utils.errors import DeepCleanError, ServerUnavailableError
from deepclean.utils.triton.names import ENSEMBLE

logger = logging.getLogger(__name__)

#: what a token-holding request may declare itself to be (``"by"``), for the audit log
DECLARED = {Actor.MONITOR, Actor.TRAINER, Actor.CLI}


class Exporter:
    """The parts behind the routes: the store, the job runner and the metrics."""

    def __init__(self, settings: ExporterSettings, store: ModelStore) -> None:
        self.settings, self.store = settings, store
        self.metrics = ExporterMetrics.create()
        watch_disk(self.metrics.registry, dict.fromkeys([settings.project_dir, store.path]))
        #: run folder queued for export: who asked for it, and the evidence they gave
        self._who: dict[Path, tuple[Actor, dict[str, Any]]] = {}
        self.jobs = JobRunner(self._work, on_done=self._done)
        self._update_gauges()

    def _work(self, job: Job) -> int:
        return self.store.export(job.data)

    def _done(self, job: Job) -> None:
        self.metrics.exports.labels("done" if job.status is JobStatus.DONE else "failed").inc()
        if job.status is JobStatus.DONE and job.started is not None:
            self.metrics.export_seconds.observe(job.finished - job.started)
        self._update_gauges()
        who, evidence = self._who.pop(job.model_dir, (Actor.EXPORTER, {}))
        self.audit(
            AuditAction.EXPORT if job.status is JobStatus.DONE else AuditAction.REJECT,
            who,
            {"version": job.version},
            {
                **evidence,
                "job": job.id,
                "model_dir": str(job.model_dir),
                "status": job.status.value,
                "error": job.error,
                "seconds": None if job.started is None else round(job.finished - job.started, 3),
            },
        )

    def _update_gauges(self) -> None:
        versions = self.store.versions()
        self.metrics.set_versions(versions["production"]["version"], versions["canary"]["version"])

    def audit(
        self,
        action: AuditAction,
        who: Actor,
        versions: dict[str, int | None],
        evidence: dict[str, Any],
    ) -> None:
        """Append to the audit log; a failed write is logged, never undoes what happened."""
        try:
            append_audit(
                self.settings.project_dir,
                action,
                who,
                ifo=str(self.settings.ifo),
                versions=versions,
                evidence=evidence,
            )
        except (OSError, ValueError, TypeError) as exc:
            logger.error("audit log: could not record %s %s: %s", action, versions, exc)

    def submit(
        self, model_dir: Any, who: Actor = Actor.REQUEST, evidence: dict | None = None
    ) -> tuple[Job, bool]:
        """The job exporting the run at ``model_dir`` (checked first; RequestError if it
        cannot be exported)."""
        s = self.settings
        path = resolve_run(model_dir, s.train_dir)
        job = self.jobs.find(path)
        if job is not None:
            return job, False
        version = self.store.exported_version(path)
        if version is not None:
            return self.jobs.submit(path, version=version)
        trained = check_run(path, self.store.channels, s.sample_rate, s.ifo, s.bands)
        self._who[path] = (who, dict(evidence or {}))  # before the worker can finish it
        return self.jobs.submit(path, data=trained)

    def submit_newest(self) -> Job | None:
        """Export the newest run under ``$PROJECT_DIR/train`` unless it is exported already."""
        run = newest_run(self.settings.train_dir)
        if run is None or self.store.exported_version(run) is not None:
            return None
        try:
            job, _ = self.submit(str(run), Actor.EXPORTER, {"reason": "newest run at start"})
        except RequestError as exc:
            logger.error("newest training run %s cannot be exported: %s", run, exc)
            return None
        logger.info("newest training run %s is not exported yet: job %d", run, job.id)
        return job

    def promote(
        self, version: Any, who: Actor = Actor.CLI, evidence: dict | None = None
    ) -> dict[str, Any]:
        """Promote the canary ``version`` (see :meth:`ModelStore.promote`), audited."""
        result = self.store.promote(version)
        self._switched(AuditAction.PROMOTE, result, who, evidence)
        return result

    def rollback(
        self, production: Any, who: Actor = Actor.CLI, evidence: dict | None = None
    ) -> dict[str, Any]:
        """Roll production ``production`` back (see :meth:`ModelStore.rollback`), audited."""
        result = self.store.rollback(production)
        self._switched(AuditAction.ROLLBACK, result, who, evidence)
        return result

    def _switched(
        self, action: AuditAction, result: dict[str, Any], who: Actor, evidence: dict | None
    ) -> None:
        before = result["previous"]["production"]
        if before != result["production"]:
            self.metrics.promotions.inc()
            self.metrics.promotion_seconds.observe(result["seconds"])
            self.audit(
                action,
                who,
                {"from": before, "to": result["production"]},
                {**(evidence or {}), "canary": result["canary"], "seconds": result["seconds"]},
            )
        self._update_gauges()

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
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return f"Triton at {url} unreachable: {first}"
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


def _fields(body: dict[str, Any], allowed: set[str], shape: str) -> None:
    unknown = sorted(set(body) - allowed - {"by", "evidence"})
    if unknown:
        raise RequestError(
            400,
            f"unknown field(s) {unknown}; the body is {shape}, optionally with "
            '"by" and "evidence" for the audit log',
        )


def _origin(body: dict[str, Any]) -> tuple[Actor, dict[str, Any]]:
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
        who, evidence = _origin(body)
        figures = {k: v for k, v in body.items() if k not in ("model_dir", "by", "evidence")}
        job, new = service.submit(body.get("model_dir"), who, {**figures, **evidence})
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
        body = _json_body(required=True)
        _fields(body, {"version"}, '{"version": N} (N: the canary)')
        who, evidence = _origin(body)
        return jsonify(service.promote(body.get("version"), who, evidence))

    @app.post("/rollback")
    def rollback():
        body = _json_body(required=True)
        _fields(body, {"production"}, '{"production": N} (N: the production version)')
        who, evidence = _origin(body)
        return jsonify(service.rollback(body.get("production"), who, evidence))

    @app.get("/metrics")
    def metrics():
        return Response(service.metrics.text(), mimetype="text/plain; version=0.0.4")

    return app
