"""The exporter's /health tells the truth: 503 with the reason once the export worker is gone,
and bookkeeping that fails after an export no longer ends the worker (jobs stayed queued)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from deepclean.services.exporter.app import Exporter, create_app
from deepclean.services.exporter.jobs import JobRunner, JobStatus
from deepclean.services.exporter.repository import ModelStore
from deepclean.utils.channels import parse_channels
from deepclean.utils.http_server import HttpServer

from .exporter_helpers import http, settings


def wait_status(runner: JobRunner, job_id: int, timeout: float = 10.0) -> JobStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = runner.get(job_id).status
        if status in (JobStatus.DONE, JobStatus.FAILED):
            return status
        time.sleep(0.01)
    return runner.get(job_id).status


def test_a_failing_completion_callback_does_not_end_the_worker(tmp_path: Path, caplog) -> None:
    calls = []

    def on_done(job):
        calls.append(job.id)
        if job.id == 1:
            raise OSError("repository unreadable for a moment")

    runner = JobRunner(lambda job: 10 + job.id, on_done=on_done)
    try:
        first, _ = runner.submit(tmp_path / "a")
        assert wait_status(runner, first.id) is JobStatus.DONE
        second, _ = runner.submit(tmp_path / "b")
        assert wait_status(runner, second.id) is JobStatus.DONE  # used to stay queued forever
        assert second.version == 12 and runner.alive
        deadline = time.monotonic() + 5
        while calls != [1, 2] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert calls == [1, 2]
        assert "job 1: after-export bookkeeping failed" in caplog.text
    finally:
        runner.stop()
    assert not runner.alive


@pytest.fixture
def exporter(tmp_path: Path):
    torch.set_num_threads(1)
    project, data = tmp_path / "project", tmp_path / "data"
    data.mkdir()
    (data / "channels.txt").write_text(
        "H1:GDS-CALIB_STRAIN\nH1:PEM-CS_MAINSMON_EBAY_1_DQ\nH1:ASC-DHARD_P_OUT_DQ\n"
    )
    s = settings(project, data)
    store = ModelStore(s, parse_channels(s.channels, s.ifo), url=None)
    store.bootstrap()
    service = Exporter(s, store)
    yield s, store, service
    service.jobs.stop()


def test_health_is_503_with_the_reason_when_the_worker_is_gone(exporter) -> None:
    s, store, service = exporter
    app = create_app(s, store, exporter=service, token="t")
    with HttpServer(app) as server:
        assert http("GET", f"{server.url}/health") == (200, {"status": "ok"})
        metrics = http("GET", f"{server.url}/metrics")[1]
        assert f'deepclean_disk_free_bytes{{path="{s.project_dir}"}}' in metrics
        service.jobs.stop()  # the worker ends (as an uncaught error used to end it)
        status, body = http("GET", f"{server.url}/health")
        assert status == 503
        assert body == {
            "status": "failed",
            "problems": ["export worker thread has died (0 job(s) queued)"],
        }
