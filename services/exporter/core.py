"""The exporter service's parts behind its HTTP routes: the store, the export job runner, the
metrics and the audit log (:class:`Exporter`); the routes are in :mod:`.app`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from deepclean.services.exporter.jobs import Job, JobRunner, JobStatus
from deepclean.services.exporter.metrics import ExporterMetrics
from deepclean.services.exporter.repository import ModelStore
from deepclean.services.exporter.runs import RequestError, check_run, newest_run, resolve_run
from deepclean.services.exporter.settings import ExporterSettings
from deepclean.utils.audit import Actor, AuditAction, append_audit
from deepclean.utils.disk import watch_disk
from deepclean.utils.triton.names import ENSEMBLE

logger = logging.getLogger(__name__)


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
        return self._switched(AuditAction.PROMOTE, self.store.promote(version), who, evidence)

    def rollback(
        self, production: Any, who: Actor = Actor.CLI, evidence: dict | None = None
    ) -> dict[str, Any]:
        """Roll production ``production`` back (see :meth:`ModelStore.rollback`), audited."""
        return self._switched(AuditAction.ROLLBACK, self.store.rollback(production), who, evidence)

    def _switched(
        self, action: AuditAction, result: dict[str, Any], who: Actor, evidence: dict | None
    ) -> dict[str, Any]:
        """``result`` of a promotion or rollback, counted and audited when production changed."""
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
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return f"Triton at {url} unreachable: {first}"
        return None
