"""The cleaner under faults, live (x2 real time) through a real Triton.

``test_data_faults_triton_kill_and_cleaner_restart``: a frame feeder replays simulated frames in
real time with a missing witness frame and a corrupt strain file; Triton is killed (SIGKILL)
mid-stream and restarted on the same ports; later the cleaner itself is stopped and started
again. ``test_untrained_production_then_promotion``: the simulator runs live while version 1
(the untrained placeholder) is production and version 2 (trained) the canary, and version 2 is
promoted on the live server with ``set_versions``.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

from deepclean.utils.products import StateBit
from deepclean.utils.triton.server import TritonServer, start_on_free_ports
from deepclean.utils.triton.versions import set_versions

from .cleaner_helpers import (
    LIVE_GPS,
    Feeder,
    ServiceThread,
    asd,
    cleaned_files,
    in_band,
    make_repository,
    read_cleaned,
    simulate_backfill,
    simulate_live,
    stop_process,
    wait_for,
)

pytestmark = pytest.mark.slow

SPEED = 2.0
OUT_DQ = "GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION_OUT_DQ"
RAW = "DEEPCLEAN-RAW_STRAIN"


def bits(path: Path) -> np.ndarray:
    return read_cleaned(path)["DEEPCLEAN-STATE_VECTOR"]


def fully(path: Path, bit: StateBit) -> bool:
    return bool(np.all(bits(path) & bit))


def test_data_faults_triton_kill_and_cleaner_restart(trained_model, tmp_path: Path) -> None:
    model, channels = trained_model
    g0, count = LIVE_GPS, 80
    no_witness, corrupt, kill_at, restart_at = g0 + 14, g0 + 20, g0 + 28, g0 + 62
    simulate_backfill(tmp_path / "source", g0, count)
    repo = make_repository(tmp_path / "model_repo", channels, model)
    triton = start_on_free_ports(repo, log_path=tmp_path / "triton.log")
    data, project = tmp_path / "data", tmp_path / "project"
    try:
        with Feeder(
            tmp_path / "source",
            data,
            g0,
            count,
            SPEED,
            skip_witness=[no_witness],
            corrupt=[corrupt],
        ) as feed:
            # a 2 s backoff cap and grace suit x2 real time on a loaded machine (defaults: 8 s, 1 s)
            cleaner = ServiceThread(
                data, project, triton.grpc_url, g0, reconnect_backoff_max=2.0, grace=2.0
            ).__enter__()
            try:
                wait_for(lambda: feed.written >= kill_at, 120, "the feeder to reach the kill point")
                os.killpg(triton.process.pid, signal.SIGKILL)
                triton.process.wait(10)
                killed = feed.written
                # stay down for at least 4 s of data, however fast Triton restarts on this machine
                wait_for(lambda: feed.written >= killed + 4, 60, "the feeder to pass the outage")
                triton = TritonServer(
                    repo,
                    grpc_port=triton.grpc_port,
                    http_port=triton.http_port,
                    metrics_port=triton.metrics_port,
                    log_path=tmp_path / "triton2.log",
                ).start()
                restarted = feed.written
                wait_for(
                    lambda: feed.written >= restart_at,
                    120,
                    "the feeder to reach the cleaner restart",
                )
            finally:
                cleaner.stop()
            before = {g: p.stat().st_mtime_ns for g, p in cleaned_files(project).items()}
            with ServiceThread(data, project, triton.grpc_url, None, grace=2.0) as second:
                wait_for(
                    lambda: g0 + count - 3 in cleaned_files(project), 120, "the last cleaned frame"
                )
                resumed = second.service.first
    finally:
        triton.stop()
    files = cleaned_files(project)
    # one frame per input second, none for the corrupt strain file, none rewritten, none skipped at
    # the restart
    # (the cleaner may also have written g0 + count - 2, one frame behind the newest input, before
    # it was stopped)
    expected = set(range(g0, g0 + count - 2)) - {corrupt}
    assert expected <= set(files) <= expected | {g0 + count - 2}
    assert resumed == max(before) + 1
    assert all(files[g].stat().st_mtime_ns == t for g, t in before.items())
    # the missing witness frame: written, OUT_DQ raw, WITNESSES_PRESENT clear
    frame = read_cleaned(files[no_witness])
    np.testing.assert_array_equal(frame[OUT_DQ], frame[RAW])
    assert not np.any(
        frame["DEEPCLEAN-STATE_VECTOR"] & (StateBit.WITNESSES_PRESENT | StateBit.OUT_DQ_CLEANED)
    )
    assert fully(files[no_witness - 3], StateBit.OUT_DQ_CLEANED)
    # the second after the corrupt file is tapered in, the one before keeps its data (the drop
    # fades out inside the gap); both are raw (their witness context reaches into the gap)
    assert fully(files[corrupt + 1], StateBit.TAPERED)
    assert not np.any(read_cleaned(files[corrupt - 1])["DEEPCLEAN-STATE_VECTOR"] & StateBit.TAPERED)
    for g in (corrupt - 1, corrupt + 1):
        frame = read_cleaned(files[g])
        np.testing.assert_array_equal(frame[OUT_DQ], frame[RAW])
    # Triton down: the seconds fed meanwhile are written raw; cleaning comes back after reconnection
    # and warm-up
    outage = range(killed + 1, restarted - 1)
    assert len(outage) >= 2
    for g in outage:
        frame = read_cleaned(files[g])
        np.testing.assert_array_equal(frame[OUT_DQ], frame[RAW])
        assert not np.any(
            frame["DEEPCLEAN-STATE_VECTOR"] & (StateBit.OUT_DQ_CLEANED | StateBit.PRODUCTION_VALID)
        )
    back = [g for g in range(restarted, restart_at) if fully(files[g], StateBit.OUT_DQ_CLEANED)]
    # reconnection (backoff <= 2 s wall = 4 s of data here), warm-up 2 s, OUT_DQ gate 4 s after > 8
    # s raw
    assert back and back[0] <= restarted + 16, (restarted, back)
    # and after the cleaner's own restart
    assert any(fully(files[g], StateBit.OUT_DQ_CLEANED) for g in range(resumed, g0 + count - 2))


def test_untrained_production_then_promotion(trained_model, tmp_path: Path) -> None:
    model, channels = trained_model
    g0, duration = LIVE_GPS + 200, 44
    repo = make_repository(tmp_path / "model_repo", channels, model, untrained_first=True)
    triton = start_on_free_ports(repo, log_path=tmp_path / "triton.log")
    data, project = tmp_path / "data", tmp_path / "project"
    try:
        sim = simulate_live(data, g0, duration, SPEED, tmp_path / "simulate.log")
        wait_for(
            lambda: (data / "kafka" / "H1").is_dir(), 60, "the simulator's first frame"
        )  # start-up on a busy machine
        with ServiceThread(data, project, triton.grpc_url, g0, grace=2.0) as cleaner:
            try:
                wait_for(lambda: g0 + 18 in cleaned_files(project), 120, "18 s of cleaned frames")
                set_versions(repo, production=2, canary=2, url=triton.grpc_url)
                promoted = cleaner.service.records[-1]["gps"]
                assert sim.wait(duration / SPEED + 60) == 0
            finally:
                stop_process(sim)
            wait_for(  # one frame behind the newest input second, g0 + duration - 1
                lambda: g0 + duration - 2 in cleaned_files(project), 60, "the last cleaned frame"
            )
            gps = [r["gps"] for r in cleaner.service.records]
    finally:
        triton.stop()
    files = cleaned_files(project)
    assert set(files) == set(range(g0, g0 + duration - 1)) and gps == sorted(
        set(gps)
    )  # none missing or repeated
    # untrained production: OUT_DQ raw, PRODUCTION_TRAINED clear; the trained canary cleans
    # meanwhile
    early = range(g0 + 6, g0 + 16)
    for g in early:
        frame = read_cleaned(files[g])
        np.testing.assert_array_equal(frame[OUT_DQ], frame[RAW])
        assert not np.any(
            frame["DEEPCLEAN-STATE_VECTOR"]
            & (StateBit.PRODUCTION_TRAINED | StateBit.OUT_DQ_CLEANED)
        )
        assert np.all(
            frame["DEEPCLEAN-STATE_VECTOR"] & (StateBit.CANARY_DIFFERS | StateBit.CANARY_TRAINED)
        )
        assert set(frame["DEEPCLEAN-PRODUCTION_VERSION"]) == {1} and set(
            frame["DEEPCLEAN-CANARY_VERSION"]
        ) == {2}
    canary = np.concatenate(
        [read_cleaned(files[g])["GDS-CALIB_STRAIN_DEEPCLEAN_CANARY"] for g in early]
    )
    raw = np.concatenate([read_cleaned(files[g])[RAW] for g in early])
    f, c = asd(canary)
    _, r = asd(raw)
    assert np.mean(c[in_band(f)] / r[in_band(f)]) < 0.5
    # the stream was never interrupted: the canary's cleaning is valid throughout, promotion
    # included
    for g in range(g0 + 6, g0 + duration - 2):
        assert fully(files[g], StateBit.CANARY_VALID), g
    # after the promotion (+ config poll and the gate's decision): version 2 cleans OUT_DQ
    late = list(range(promoted + 12, g0 + duration - 2))
    assert late
    for g in late:
        frame = read_cleaned(files[g])
        assert set(frame["DEEPCLEAN-PRODUCTION_VERSION"]) == {2}
        assert np.all(
            frame["DEEPCLEAN-STATE_VECTOR"]
            & (StateBit.PRODUCTION_TRAINED | StateBit.OUT_DQ_CLEANED)
        )
