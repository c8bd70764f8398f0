"""Export jobs: a table of jobs and one worker thread running them one at a time.

A job is submitted for a checked training run; the same run (its resolved directory) is never
queued twice: submitting it again returns the job that has it (unless that one failed). Nothing
a job does ends the worker: an exception in the export or in the ``on_done`` bookkeeping after
it (metrics, audit) is logged and the worker takes the next job; :attr:`JobRunner.alive` is
what the exporter's ``/health`` judges.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass
class Job:
    id: int
    model_dir: Path
    status: JobStatus = JobStatus.QUEUED
    version: int | None = None
    error: str | None = None
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    data: Any = field(default=None, repr=False)  #: what the work function needs (the checked run)

    def to_json(self) -> dict[str, Any]:
        seconds = (
            None
            if self.started is None or self.finished is None
            else round(self.finished - self.started, 3)
        )
        return {
            "job": self.id,
            "url": f"/jobs/{self.id}",
            "status": self.status.value,
            "model_dir": str(self.model_dir),
            "version": self.version,
            "error": self.error,
            "submitted": self.submitted,
            "started": self.started,
            "finished": self.finished,
            "seconds": seconds,
        }


class JobRunner:
    """Runs ``work(job)`` (returning the version) for each submitted job on one thread."""

    def __init__(
        self, work: Callable[[Job], int], *, on_done: Callable[[Job], None] | None = None
    ) -> None:
        self.work, self.on_done = work, on_done
        self.jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="exporter-jobs", daemon=True)
        self._thread.start()

    def find(self, model_dir: Path) -> Job | None:
        """The job (not failed) for ``model_dir``, if there is one."""
        with self._lock:
            return next(
                (
                    j
                    for j in self.jobs.values()
                    if j.model_dir == model_dir and j.status is not JobStatus.FAILED
                ),
                None,
            )

    def submit(
        self, model_dir: Path, *, version: int | None = None, data: Any = None
    ) -> tuple[Job, bool]:
        """The job for ``model_dir``: an existing one, or a new one; ``version`` marks a run
        exported already.

        Returns the job and whether it is new.
        """
        with self._lock:
            for job in self.jobs.values():
                if job.model_dir == model_dir and job.status is not JobStatus.FAILED:
                    return job, False
            job = Job(next(self._ids), model_dir, data=data)
            self.jobs[job.id] = job
            if version is not None:
                job.status, job.version, job.started = JobStatus.DONE, version, job.submitted
                job.finished = job.submitted
                return job, True
        self._queue.put(job)
        return job, True

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            return self.jobs.get(job_id)

    def busy(self) -> bool:
        with self._lock:
            return any(
                j.status in (JobStatus.QUEUED, JobStatus.RUNNING) for j in self.jobs.values()
            )

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            job.status, job.started = JobStatus.RUNNING, time.time()
            logger.info("job %d: exporting %s", job.id, job.model_dir)
            try:
                job.version = self.work(job)
                job.status = JobStatus.DONE
            except Exception as exc:  # noqa: BLE001 - a failed export is reported on the job, the worker goes on
                job.error, job.status = (
                    f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc),
                    JobStatus.FAILED,
                )
                logger.error("job %d: export of %s failed: %s", job.id, job.model_dir, job.error)
            job.finished, job.data = time.time(), None
            if job.status is JobStatus.DONE:
                logger.info(
                    "job %d: %s is version %d (%.1f s)",
                    job.id,
                    job.model_dir,
                    job.version,
                    job.finished - job.started,
                )
            if self.on_done is not None:
                try:
                    self.on_done(job)
                except Exception:  # noqa: BLE001 - bookkeeping must not end the worker
                    logger.exception("job %d: after-export bookkeeping failed", job.id)

    @property
    def alive(self) -> bool:
        """Whether the worker thread runs (``/health`` answers 503 when it does not)."""
        return self._thread.is_alive()

    def stop(self, timeout: float = 30.0) -> None:
        """Let the running job finish (up to ``timeout`` s); queued jobs are dropped."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put(None)
        self._thread.join(timeout)
