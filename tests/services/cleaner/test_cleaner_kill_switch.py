"""The kill switch against a running cleaner process and a real Triton.

The simulator's frames are fed in real time x2; the cleaner cleans. ``deepclean cleaning
disable`` (the command an operator types) turns cleaning off: every frame written after it
(so every second from two seconds after the newest input at that moment, and also the older
seconds of a backlog the cleaner is catching up on) carries OUT_DQ exactly equal to the raw
strain, bit CLEANING_DISABLED set and OUT_DQ_CLEANED clear; it stays so across a restart of
the cleaner (the switch is on disk). ``enable`` turns it back on from the next frame written.
Both changes are in the audit log.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from deepclean.utils.audit import read_audit
from deepclean.utils.products import StateBit
from deepclean.utils.triton.server import TritonServer, start_on_free_ports

from .cleaner_helpers import (
    LIVE_GPS,
    Feeder,
    cleaned_files,
    cleaner_argv,
    make_repository,
    read_cleaned,
    run_cli,
    simulate_backfill,
    start_process,
    stop_process,
    wait_for,
)

pytestmark = pytest.mark.slow

SECONDS = 90  #: fed, at x2


@pytest.fixture(scope="module")
def triton(trained_model, tmp_path_factory) -> Iterator[TritonServer]:
    model, channels = trained_model
    root = tmp_path_factory.mktemp("switch-repo")
    repo = make_repository(root / "model_repo", channels, model)
    server = start_on_free_ports(repo, log_path=root / "triton.log")
    try:
        yield server
    finally:
        server.stop()


def state(path: Path) -> tuple[bool, bool, bool]:
    """``(OUT_DQ == raw exactly, CLEANING_DISABLED everywhere, OUT_DQ_CLEANED everywhere)``."""
    frame = read_cleaned(path)
    bits = frame["DEEPCLEAN-STATE_VECTOR"]
    same = np.array_equal(
        frame["GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION_OUT_DQ"], frame["DEEPCLEAN-RAW_STRAIN"]
    )
    return (
        same,
        bool(np.all(bits & StateBit.CLEANING_DISABLED)),
        bool(np.all(bits & StateBit.OUT_DQ_CLEANED)),
    )


def cleaned_after(project: Path, gps: int) -> int | None:
    """The first second after ``gps`` whose frame is fully cleaned, if any yet."""
    for g, path in sorted(cleaned_files(project).items()):
        if g > gps and state(path)[2]:
            return g
    return None


def written_ns(path: Path) -> int:
    return path.stat().st_mtime_ns


def test_disable_survives_a_restart_and_enable_cleans_again(triton, tmp_path) -> None:
    source, data, project = tmp_path / "source", tmp_path / "data", tmp_path / "project"
    simulate_backfill(source, LIVE_GPS - 6, SECONDS)
    argv = cleaner_argv(data, project, triton.grpc_url, LIVE_GPS)
    switch = ["--project-dir", str(project), "--ifo", "H1"]
    with Feeder(source, data, LIVE_GPS - 6, SECONDS, speed=2.0) as feeder:
        cleaner = start_process(argv, tmp_path / "cleaner.log")
        try:
            wait_for(lambda: cleaned_after(project, LIVE_GPS) is not None, 120, "cleaning")
            head = feeder.written  # the newest input second when the operator acts
            off_begin = time.time_ns()
            assert run_cli(["cleaning", "disable", *switch, "--reason", "test"]) == 0
            off_done = time.time_ns()
            wait_for(lambda: head + 6 in cleaned_files(project), 60, f"GPS {head + 6}")
            stop_process(cleaner)  # a restart while disabled
            restarted_at = max(cleaned_files(project))
            cleaner = start_process(argv, tmp_path / "cleaner.log")
            wait_for(lambda: restarted_at + 14 in cleaned_files(project), 60, "frames again")
            head2 = feeder.written
            on_begin = time.time_ns()
            assert run_cli(["cleaning", "enable", *switch, "--reason", "done"]) == 0
            on_done = time.time_ns()
            wait_for(lambda: cleaned_after(project, head2) is not None, 60, "cleaning again")
        finally:
            assert stop_process(cleaner) == 0, (tmp_path / "cleaner.log").read_text()[-3000:]
    files = cleaned_files(project)
    when = {g: written_ns(p) for g, p in files.items()}
    before = [g for g in files if when[g] < off_begin]
    off = [g for g in files if off_done < when[g] < on_begin]
    after = sorted(g for g in files if when[g] > on_done)
    assert any(state(files[g])[2] for g in before)  # it cleaned before
    assert not any(state(files[g])[1] for g in before)
    # every frame written while disabled, by the first process and by the restarted one
    assert len([g for g in off if g > restarted_at]) >= 10, (off, restarted_at)
    for g in off:
        same, disabled, cleaned = state(files[g])
        assert same and disabled and not cleaned, f"GPS {g} written while disabled"
    # effective within 2 s of data: no second from head + 2 on was written before the switch
    assert all(g in off for g in files if head + 2 <= g and when[g] < on_begin)
    assert not state(files[after[0]])[1]  # enabled: from the next frame written
    back = cleaned_after(project, head2)
    assert back is not None and back <= head2 + 3, f"cleaned again only from GPS {back}"
    log = (tmp_path / "cleaner.log").read_text()
    assert "cleaning off by " in log and ": test" in log
    actions = [(e.action, e.evidence["reason"]) for e in read_audit(project)]
    assert actions == [("cleaning-disabled", "test"), ("cleaning-enabled", "done")]
