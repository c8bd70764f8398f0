"""deepclean simulate end to end: backfill layout, real time at high speed, clean stops."""

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from deepclean.services.cli import main
from deepclean.services.simulate.loop import run_simulation
from deepclean.services.simulate.settings import SimulateSettings
from deepclean.utils.channels import parse_channels
from deepclean.utils.config import load_settings
from deepclean.utils.errors import ConfigError
from deepclean.utils.frames.gwf import check_frame, read_frame
from deepclean.utils.frames.naming import FrameKind, FrameName, frame_path
from deepclean.utils.simulation.channels import channel_list, default_witnesses
from deepclean.utils.simulation.detector import DetectorConfig, simulate
from deepclean.utils.simulation.harmonics import DEMO_HARMONICS

GPS = 1_400_000_000


def settings(tmp_path: Path, **values) -> SimulateSettings:
    return load_settings(
        SimulateSettings,
        {"data_dir": tmp_path, **values},
        environ={},
        pyproject=None,
        env_file=None,
    )


@pytest.fixture
def restore_logging():
    """``main`` configures the root logger (as an entry point should); undo it afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _gps_of(folder: Path) -> list[int]:
    return sorted(FrameName.parse(p).gps for p in folder.glob("*.gwf"))


def test_backfill_writes_the_llhoft_layout(tmp_path: Path, restore_logging) -> None:
    code = main(
        [
            "simulate",
            "--data-dir",
            str(tmp_path),
            "--ifo",
            "L1",
            "--start",
            str(GPS),
            "--duration",
            "3",
            "--backfill",
            "--seed",
            "5",
        ]
    )
    assert code == 0
    assert _gps_of(tmp_path / "kafka" / "L1") == [GPS, GPS + 1, GPS + 2]
    assert _gps_of(tmp_path / "lldetchar" / "L1") == [GPS, GPS + 1, GPS + 2]
    assert frame_path(tmp_path, FrameKind.STRAIN, "L1", GPS).name == "L-L1_llhoft-1400000000-1.gwf"
    channels = (tmp_path / "channels.txt").read_text().split()
    assert channels == channel_list("L1", default_witnesses("L1")) and len(channels) == 19
    assert parse_channels(tmp_path / "channels.txt", "L1").names == tuple(
        channels
    )  # what training reads
    # the command's physics: the documented model with its default harmonic coupling (issue 24)
    expected = simulate(DetectorConfig(ifo="L1", seed=5, harmonics=DEMO_HARMONICS), GPS, 3)
    strain, witnesses = [], {name: [] for name in channels[1:]}
    for gps in range(GPS, GPS + 3):
        s = read_frame(
            frame_path(tmp_path, FrameKind.STRAIN, "L1", gps),
            ["L1:GDS-CALIB_STRAIN", "L1:GDS-CALIB_STATE_VECTOR", "L1:SIM-BACKGROUND"],
            expected_t0=gps,
            expected_duration=1,
            expected_rates={
                "L1:GDS-CALIB_STRAIN": 16384,
                "L1:GDS-CALIB_STATE_VECTOR": 16,
                "L1:SIM-BACKGROUND": 16384,
            },
        )
        assert np.all(s["L1:GDS-CALIB_STATE_VECTOR"].data & 3 == 3)
        strain.append(s["L1:GDS-CALIB_STRAIN"].data)
        w = read_frame(
            frame_path(tmp_path, FrameKind.WITNESS, "L1", gps),
            channels[1:],
            expected_t0=gps,
            expected_duration=1,
            expected_rates=expected.rates,
        )
        for name in channels[1:]:
            witnesses[name].append(w[name].data)
    np.testing.assert_array_equal(
        np.concatenate(strain), expected.strain
    )  # bit-exact, deterministic
    for name in channels[1:]:
        np.testing.assert_array_equal(np.concatenate(witnesses[name]), expected.witnesses[name])
    assert set(expected.rates.values()) == {1024, 512, 256}


def test_faults_from_flags(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        start=GPS,
        duration=4,
        backfill=True,
        drop_gps=[GPS + 1],
        drop_streams=["witness"],
        not_ready_spans=[f"{GPS + 2}-{GPS + 3}"],
        channels_file=tmp_path / "list.txt",
        truth=False,
    )
    summary = run_simulation(s)
    assert summary.frames == 4 and summary.dropped == {"witness": 1} and summary.not_ready == 1
    assert _gps_of(tmp_path / "lldetchar" / "H1") == [GPS, GPS + 2, GPS + 3]
    assert _gps_of(tmp_path / "kafka" / "H1") == [GPS, GPS + 1, GPS + 2, GPS + 3]
    state = read_frame(
        frame_path(tmp_path, FrameKind.STRAIN, "H1", GPS + 2), ["H1:GDS-CALIB_STATE_VECTOR"]
    )
    assert state["H1:GDS-CALIB_STATE_VECTOR"].data.tolist() == [1] * 16
    assert (tmp_path / "list.txt").read_text().splitlines()[0] == "H1:GDS-CALIB_STRAIN"
    assert not (tmp_path / "channels.txt").exists()


def test_start_now_uses_the_gps_clock(tmp_path: Path) -> None:
    summary = run_simulation(settings(tmp_path, duration=2, backfill=True), clock=lambda: GPS + 0.7)
    assert summary.start == GPS and _gps_of(tmp_path / "kafka" / "H1") == [GPS, GPS + 1]


def test_real_time_at_high_speed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="deepclean.services.simulate")
    t0 = time.monotonic()
    summary = run_simulation(settings(tmp_path, start=GPS, duration=5, speed=25.0))
    assert time.monotonic() - t0 >= 5 / 25.0  # paced by the clock, not as fast as possible
    assert summary.frames == 5 and _gps_of(tmp_path / "kafka" / "H1") == list(range(GPS, GPS + 5))
    lines = [r.getMessage() for r in caplog.records if "written: latency" in r.getMessage()]
    assert len(lines) == 5 and lines[0].startswith(f"GPS {GPS} written")


def test_follow_clock_catches_up_then_keeps_to_the_gps_clock(tmp_path: Path) -> None:
    """Start 3 s in the past at 1x: those 3 frames are due at once, the 4th when the clock reaches
    its end."""
    launch = time.monotonic()
    summary = run_simulation(
        settings(tmp_path, start=GPS, duration=4, follow_clock=True), clock=lambda: GPS + 3.2
    )
    took = time.monotonic() - launch
    assert summary.frames == 4 and _gps_of(tmp_path / "kafka" / "H1") == list(range(GPS, GPS + 4))
    assert 0.6 <= took < 2.5  # GPS + 4 is 0.8 s after launch; paced from launch it would take 4 s
    with pytest.raises(
        ConfigError,
        match="follow_clock follows the real GPS clock, so it needs real time at speed 1; "
        "got speed 2",
    ):
        settings(tmp_path, start=GPS, follow_clock=True, speed=2.0)


def test_real_time_without_duration_stops_cleanly(tmp_path: Path) -> None:
    stop = threading.Event()
    s = settings(tmp_path, start=GPS, speed=20.0, partial_rate=0.5, partial_delay=30.0)
    result = {}
    thread = threading.Thread(target=lambda: result.update(summary=run_simulation(s, stop)))
    thread.start()
    deadline = time.monotonic() + 60
    while len(_gps_of(tmp_path / "kafka" / "H1")) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=60)
    assert not thread.is_alive()
    written = _gps_of(tmp_path / "kafka" / "H1")
    assert written == list(range(GPS, GPS + len(written))) and result["summary"].frames == len(
        written
    )
    assert sum(result["summary"].partial.values()) > 0
    for path in (tmp_path / "kafka" / "H1").glob("*.gwf"):
        check_frame(path)  # partial files were completed on the way out


def test_sigterm_stops_the_command_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "-m",
        "deepclean.services.cli",
        "simulate",
        "--data-dir",
        str(tmp_path),
        "--start",
        str(GPS),
        "--speed",
        "10",
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while (
            len(_gps_of(tmp_path / "kafka" / "H1")) < 2
            and time.monotonic() < deadline
            and proc.poll() is None
        ):
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "s of data per wall second" in stderr
    assert len(_gps_of(tmp_path / "kafka" / "H1")) >= 2
