"""A full disk does not stop the cleaner: it writes nothing, logs once a minute, counts, says so
on /health (503) and writes again as soon as there is room.

The cleaned folder is a real, tiny tmpfs (root only: skipped elsewhere, said so). Triton is not
started (an unreachable address): the cleaner passes the strain through, which is all a disk
needs to fill. Frames are fed in real time x4 while the test makes room half-way (a remount
with a larger size).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from deepclean.utils.triton.server import free_port

from .cleaner_helpers import (
    LIVE_GPS,
    Feeder,
    ServiceThread,
    cleaned_files,
    simulate_backfill,
    wait_for,
)

pytestmark = pytest.mark.slow

FRAME_BYTES = 140_000  #: one cleaned frame (4 x 4096 float64 + flags), rounded up
SECONDS = 60


def health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """``project/cleaned/H1`` on a tmpfs holding 5 cleaned frames (grown by remounting)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tiny tmpfs (a real full disk)")
    folder = tmp_path / "project" / "cleaned" / "H1"
    folder.mkdir(parents=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={5 * FRAME_BYTES}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_is_waited_out(tiny_disk: Path, tmp_path: Path, caplog) -> None:
    source, data = tmp_path / "source", tmp_path / "data"
    simulate_backfill(source, LIVE_GPS - 6, SECONDS + 8)
    project = tmp_path / "project"
    caplog.set_level(logging.INFO)
    feeder = Feeder(source, data, LIVE_GPS - 6, SECONDS + 8, speed=4.0)
    with feeder:
        wait_for(lambda: feeder.written >= LIVE_GPS, 60, "the first frames")
        with ServiceThread(
            data,
            project,
            f"127.0.0.1:{free_port()}",  # no Triton: raw pass-through
            LIVE_GPS,
            frame_timeout=2.0,
            stall_deadline=2.0,
        ) as cleaner:
            service = cleaner.service
            wait_for(lambda: service.server is not None, 30, "the metrics server")
            port = service.server.port
            wait_for(lambda: service.disk_full.skipped >= 6, 60, "frames skipped for the disk")
            assert cleaner.thread.is_alive()
            wait_for(lambda: health(port)[0] == 503, 30, "/health to say 503")
            code, body = health(port)
            assert body["status"] == "stalled"
            assert any("disk full" in p for p in body["problems"]), body
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
            assert "deepclean_cleaner_frames_not_written_total" in metrics
            assert f'deepclean_disk_free_bytes{{path="{project}"}}' in metrics
            written_before = set(cleaned_files(project))
            assert 3 <= len(written_before) <= 5
            full_at = max(written_before)
            subprocess.run(  # the operator makes room
                ["mount", "-o", f"remount,size={100 * FRAME_BYTES}", str(tiny_disk)], check=True
            )
            wait_for(lambda: len(cleaned_files(project)) > len(written_before) + 1, 60, "writes")
            wait_for(lambda: health(port)[0] == 200, 30, "/health to say 200 again")
            resumed = min(set(cleaned_files(project)) - written_before)
            assert resumed > full_at + 5  # the seconds while full were skipped, not queued
    full = [r.getMessage() for r in caplog.records if r.getMessage().startswith("disk full:")]
    assert len(full) == 1, full  # once per minute, not once per frame
    back = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("disk space is back")
    ]
    assert len(back) == 1 and f"GPS {resumed}" in back[0], back
