"""The trainer's liveness signal: its heartbeat file keeps being rewritten while it follows the
frames and while a (long) training run optimises, and ``deepclean wait-for --max-age`` (its
compose healthcheck) judges it: healthy while fresh, not once it is older than the limit."""

from __future__ import annotations

import json
import os
import threading
import time

from deepclean.services.trainer.service import TrainerService, heartbeat_path
from deepclean.services.up.wait_cli import pending

from .http_helpers import closed_port_url
from .sim_helpers import GPS
from .test_trainer_service import _settings, stream_dir  # noqa: F401 - the shared fixture


def test_heartbeat_while_following_and_training(stream_dir, tmp_path):  # noqa: F811
    settings = _settings(
        stream_dir,
        tmp_path,
        notify_url=closed_port_url(),
        max_runs=1,
        max_epochs=10_000,
        early_stop=10_000,
        max_steps=None,
    )
    service = TrainerService(settings, profile="cpu")
    beat = heartbeat_path(tmp_path, "H1")
    tmp = tmp_path / "train" / f".{GPS}-{GPS + 20}.tmp"
    seen: list[dict] = []

    def watch() -> None:
        deadline = time.monotonic() + 120
        while not tmp.is_dir() and time.monotonic() < deadline:
            if beat.is_file():
                seen.append(json.loads(beat.read_text()))
            time.sleep(0.05)
        time.sleep(7.0)  # longer than the heartbeat's 5 s minimum interval, inside training
        seen.append(json.loads(beat.read_text()))
        seen.append({"age": time.time() - beat.stat().st_mtime})
        service.stop()

    watcher = threading.Thread(target=watch)
    watcher.start()
    service.run()
    watcher.join()
    assert any(s.get("doing", "").startswith("following the frames at GPS ") for s in seen[:-2])
    training = seen[-2]
    assert training["doing"] == f"training run {GPS}-{GPS + 20}" and training["pid"] == os.getpid()
    assert seen[-1]["age"] < 6.0  # rewritten during the optimisation, not only between frames
    assert pending([], [beat], max_age=300) == []
    old = time.time() - 301
    os.utime(beat, (old, old))  # a trainer stuck for 5 min
    assert pending([], [beat], max_age=300) == [f"{beat} (missing or older than 300 s)"]
    assert pending([], [tmp_path / "none.json"], max_age=300) != []
