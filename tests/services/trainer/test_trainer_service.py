"""The trainer service on a short simulated stream, with a real HTTP exporter stand-in."""

import json
import logging
import threading
import time

import pytest

from deepclean.services.trainer.ready import ReadyTracker
from deepclean.services.trainer.service import TrainerService, latest_model
from deepclean.services.trainer.settings import TrainerSettings
from deepclean.utils.config import load_settings

from .http_helpers import Recorder, closed_port_url
from .sim_helpers import GPS, TINY_TRAIN, simulate

# --------------------------------------------------------------------------- readiness arithmetic


def _feed(tracker, flags, start=100):
    due = []
    for i, ready in enumerate(flags):
        tracker.add(start + i, ready)
        window = tracker.due()
        if window:
            tracker.started(window[1])
            due.append(window)
    return due


def test_first_run_after_train_duration_then_every_cadence():
    due = _feed(ReadyTracker(train_duration=10, retrain_cadence=4), [True] * 20)
    assert due == [(100, 110), (104, 114), (108, 118)]


def test_non_ready_seconds_split_the_span():
    flags = [True] * 6 + [False] * 3 + [True] * 4
    assert _feed(ReadyTracker(10, 100), flags) == [(100, 113)]  # 10 ready seconds within 13


def test_long_outage_resets():
    flags = [True] * 8 + [False] * 20 + [True] * 10
    assert _feed(ReadyTracker(10, 100), flags) == [
        (128, 138)
    ]  # older ready seconds are too far back


def test_restart_waits_for_cadence():
    tracker = ReadyTracker(10, 5, last_end=112)
    assert _feed(tracker, [True] * 20) == [(107, 117)]


def test_seconds_must_increase():
    tracker = ReadyTracker(10, 5)
    tracker.add(5, True)
    with pytest.raises(ValueError, match="GPS 5 arrived after 5"):
        tracker.add(5, True)


# --------------------------------------------------------------------------- the service


@pytest.fixture(scope="module")
def stream_dir(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("stream") / "data", 44)


def _settings(data_dir, project_dir, **values):
    base = {
        **TINY_TRAIN,
        "data_dir": data_dir,
        "project_dir": project_dir,
        "start": GPS,
        "train_duration": 20,
        "retrain_cadence": 12,
        "notify_retries": 1,
        "notify_backoff": 0.01,
        "frame_timeout": 0.5,
        **values,
    }
    return load_settings(TrainerSettings, base, environ={}, pyproject=None, env_file=None)


def test_two_runs_fine_tune_and_notify(stream_dir, tmp_path):
    with Recorder([200]) as exporter:
        service = TrainerService(
            _settings(stream_dir, tmp_path, notify_url=exporter.url, max_runs=2), profile="cpu"
        )
        assert service.run() == 2
    first, second = (
        tmp_path / "train" / f"{GPS}-{GPS + 20}",
        tmp_path / "train" / f"{GPS + 12}-{GPS + 32}",
    )
    for run in (first, second):
        assert (run / "weights.pt").is_file() and (run / "metadata.json").is_file()
    meta = json.loads((second / "metadata.json").read_text())
    assert meta["training"]["init_weights"] == str(first)
    assert meta["training"]["lr"] == pytest.approx(TINY_TRAIN["lr"] * 0.1)
    assert json.loads((first / "metadata.json").read_text())["training"]["init_weights"] is None
    assert [b["start"] for b in exporter.bodies] == [GPS, GPS + 12]
    assert exporter.bodies[1]["weights"] == str((second / "weights.pt").resolve())
    assert not list((tmp_path / "train").glob(".*.tmp"))
    # a restarted service continues from the newest model
    assert (
        latest_model(tmp_path / "train", ["H1:ASC-DHARD_P_OUT_DQ", "H1:PEM-CS_MAINSMON_EBAY_1_DQ"])
        == second
    )
    assert TrainerService(_settings(stream_dir, tmp_path)).previous == second


def test_failed_run_keeps_previous_and_is_not_announced(stream_dir, tmp_path, caplog):
    with Recorder([200]) as exporter, caplog.at_level(logging.ERROR):
        service = TrainerService(
            _settings(
                stream_dir, tmp_path, notify_url=exporter.url, max_runs=1, max_valid_loss=1e-6
            )
        )
        assert service.run() == 0
    assert exporter.bodies == []
    assert (tmp_path / "train" / f"{GPS}-{GPS + 20}.failed").is_dir()
    assert not (tmp_path / "train" / f"{GPS}-{GPS + 20}").exists()
    assert service.previous is None
    assert "training run" in caplog.text and "failed" in caplog.text


def test_stop_during_training_ends_the_run_at_once(stream_dir, tmp_path, caplog):
    """SIGTERM's handler calls stop(): a run that would take minutes ends within a batch, keeps
    nothing."""
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
    tmp = tmp_path / "train" / f".{GPS}-{GPS + 20}.tmp"

    def stop_once_training() -> None:
        deadline = time.monotonic() + 120
        while not tmp.is_dir() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # inside the optimisation
        stopped_at.append(time.monotonic())
        service.stop()

    stopped_at: list[float] = []
    stopper = threading.Thread(target=stop_once_training)
    with caplog.at_level(logging.WARNING):
        stopper.start()
        assert service.run() == 0
        returned = time.monotonic()
        stopper.join()
    assert stopped_at and returned - stopped_at[0] < 10.0
    assert "stopped before it finished" in caplog.text
    assert (
        sorted(p.name for p in (tmp_path / "train").iterdir()) == []
    )  # no model, no .failed, no temporary
    assert service.previous is None


def test_unreachable_exporter_is_not_fatal(stream_dir, tmp_path, caplog):
    with caplog.at_level(logging.ERROR):
        service = TrainerService(
            _settings(stream_dir, tmp_path, notify_url=closed_port_url(), max_runs=1)
        )
        assert service.run() == 1
    assert (tmp_path / "train" / f"{GPS}-{GPS + 20}" / "weights.pt").is_file()
    assert "unreachable" in caplog.text


def test_not_ready_stretch_splits_the_run(tmp_path):
    data = simulate(tmp_path / "data", 30, GPS, "--not-ready-spans", f"{GPS + 4}-{GPS + 8}")
    service = TrainerService(
        _settings(
            data, tmp_path / "project", notify_url=closed_port_url(), notify_retries=0, max_runs=1
        )
    )
    assert service.run() == 1
    run = tmp_path / "project" / "train" / f"{GPS}-{GPS + 24}"  # 20 ready seconds within 24
    meta = json.loads((run / "metadata.json").read_text())
    segments = meta["span"]["train_segments"] + meta["span"]["valid_segments"]
    assert segments and all(
        end <= GPS + 4 or start >= GPS + 8 for start, end in segments
    )  # not across the gap
    assert meta["span"]["ready_seconds"] <= 20
