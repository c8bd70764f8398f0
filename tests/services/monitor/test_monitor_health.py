"""The monitor's /health (real waitress) tells the truth: 503 with the reason while cleaned
frames arrive but the checker finishes no check (here: an exporter that accepts connections
and never answers), 200 again once checks finish; a failed archive write is retried with a
doubling backoff, not every second; the free-disk gauge is in /metrics."""

from __future__ import annotations

import socket
import time

import requests

from deepclean.services.monitor.app import create_app
from deepclean.services.monitor.service import MonitorService
from deepclean.utils.frames.gwf import write_frame
from deepclean.utils.frames.naming import FrameKind, frame_path
from deepclean.utils.http_server import HttpServer

from .helpers import GPS, IFO, Running, Second, cleaned_channels, settings, wait_for


def write(project, start: int, count: int) -> None:
    for gps in range(start, start + count):
        write_frame(
            frame_path(project, FrameKind.CLEANED, IFO, gps), cleaned_channels(gps, Second())
        )


def test_health_says_503_while_no_check_finishes(tmp_path) -> None:
    silent = socket.socket()  # accepts connections (backlog), never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    s = settings(tmp_path, url, exporter_timeout=6.0, exporter_retries=0, check_deadline=1.0)
    service = MonitorService(s)
    app = create_app(service.state, ifo=IFO, liveness=service.liveness, stale_after=30.0)
    try:
        with HttpServer(app) as server, Running(service, tmp_path):
            health = lambda: requests.get(f"{server.url}/health", timeout=5)  # noqa: E731
            write(tmp_path, GPS, 8 * 2 + 1)  # two monitor periods: a check is handed over
            wait_for(lambda: service.checks_queued >= 1, 20, "a check handed to the checker")
            assert health().status_code == 200  # within its deadline
            wait_for(lambda: health().status_code == 503, 10, "/health to say 503")
            body = health().json()
            assert body["status"] == "stalled"
            (problem,) = body["problems"]
            assert problem.startswith("cleaned frames arrive but no check finishes for ")
            assert problem.endswith("(deadline 1 s)")
            metrics = requests.get(f"{server.url}/metrics", timeout=5).text
            assert f'deepclean_disk_free_bytes{{path="{tmp_path}"}}' in metrics
            # the exporter request times out (6 s): the check finishes, healthy again
            wait_for(lambda: service.checks_done >= 1, 30, "the check to give up")
            assert health().status_code == 200
    finally:
        silent.close()


def test_a_failed_archive_write_backs_off(tmp_path, caplog) -> None:
    s = settings(tmp_path, "http://127.0.0.1:1", monitor_period=10_000)
    blocker = tmp_path / "archive" / IFO
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the archive folder should be")  # every write fails
    service = MonitorService(s)
    with Running(service, tmp_path):
        began = time.monotonic()
        for gps in range(GPS, GPS + 40):  # spans of 16 s close at GPS+16, +32
            write(tmp_path, gps, 1)
            time.sleep(0.1)
        elapsed = time.monotonic() - began
        wait_for(lambda: service.processed == GPS + 39, 20, "the monitor to read every frame")
    failures = [r for r in caplog.records if "archiving GPS" in r.getMessage()]
    # one try per 1, 2, 4, ... s instead of one per loop cycle (a frame every 0.1 s here)
    assert 1 <= len(failures) <= 2 + int(elapsed).bit_length(), [r.getMessage() for r in failures]
    assert "retried in 1 s" in failures[0].getMessage()
    assert service.archive_failures == len(failures)
