"""Two cleaners on one Triton both clean; a third on a cleaner's folder exits at once.

Every cleaner used to number its Triton sequences from 1: the second cleaner on a Triton took
over the first one's sequence ("sequence ... has a conflict", "the server counted update 5
where the client sent 4") and fell back to raw strain. Here two cleaner processes (two
project directories, one data directory, one Triton serving two streams) clean the same 40 s
of data, fed in real time x2; both must write every second, with PRODUCTION valid over the
last 10 s and OUT_DQ cleaned at the end, and neither may log a sequence conflict (with the
old numbering both did, all along). Meanwhile a third cleaner on the first one's project
directory and IFO must exit with status 1 and one line naming the first one's pid.

(Two cleaners of two IFOs cannot share one Triton's ``deepclean-stream`` today: its channel
names carry the IFO. The ids also differ by IFO: ``tests/utils/triton/test_sequence_ids.py``.)
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest

from deepclean.utils.products import StateBit
from deepclean.utils.triton.server import TritonServer, start_on_free_ports

from .cleaner_helpers import (
    IFO,
    LIVE_GPS,
    Feeder,
    cleaned_files,
    cleaner_argv,
    make_repository,
    read_cleaned,
    simulate_backfill,
    start_process,
    stop_process,
    wait_for,
)

pytestmark = pytest.mark.slow

DURATION = 40  #: input seconds each cleaner cleans (room for a start-up Triton timeout under load)
WARMUP = 4  #: s: first second tapered in, kernel + lag + settle (see test_cleaner_live)


@pytest.fixture(scope="module")
def triton(trained_model, tmp_path_factory) -> Iterator[TritonServer]:
    model, channels = trained_model
    root = tmp_path_factory.mktemp("sharing-repo")
    repo = make_repository(root / "model_repo", channels, model, streams=2)
    server = start_on_free_ports(repo, log_path=root / "triton.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def run(triton, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("sharing")
    source, data = root / "source", root / "data"
    simulate_backfill(source, LIVE_GPS - 6, DURATION + 10)
    projects = [root / "a", root / "b"]
    argv = [cleaner_argv(data, p, triton.grpc_url, LIVE_GPS) for p in projects]
    lock = projects[0] / "locks" / f"cleaner-{IFO}.lock"
    last = LIVE_GPS + DURATION - 1
    with Feeder(source, data, LIVE_GPS - 6, DURATION + 10, speed=2.0) as feeder:
        wait_for(lambda: feeder.written >= LIVE_GPS - 6, 60, "the first fed frame")
        procs = [start_process(a, root / f"cleaner-{i}.log") for i, a in enumerate(argv)]
        try:
            wait_for(
                lambda: lock.is_file() and lock.read_text().strip() == str(procs[0].pid),
                120,
                "the first cleaner's lock",
            )
            third = subprocess.run(
                [sys.executable, "-m", "deepclean.services.cli", *argv[0]],
                capture_output=True,
                text=True,
                timeout=120,
            )
            first_running = procs[0].poll() is None
            for p in projects:
                wait_for(lambda p=p: last in cleaned_files(p), 180, f"GPS {last} in {p}")
        finally:
            codes = [stop_process(p) for p in procs]
    return {
        "projects": projects,
        "logs": [(root / f"cleaner-{i}.log").read_text() for i in range(2)],
        "codes": codes,
        "third": third,
        "first_running": first_running,
        "pid": procs[0].pid,
        "lock": lock,
        "last": last,
    }


def test_a_third_cleaner_on_the_same_folder_exits_at_once(run) -> None:
    third = run["third"]
    assert run["first_running"], "the first cleaner finished before the third one was tried"
    assert third.returncode == 1, third.stderr[-3000:]
    errors = [line for line in third.stderr.splitlines() if ": error: " in line]
    assert errors == [
        f"deepclean cleaner: error: another cleaner of {IFO} is running (pid {run['pid']}, "
        f"lock {run['lock']}); stop it first, or give this one another project directory"
    ]


@pytest.mark.parametrize("which", [0, 1])
def test_two_cleaners_on_one_triton_both_clean(run, which: int) -> None:
    log = run["logs"][which]
    assert run["codes"][which] == 0, log[-3000:]
    # the signatures of two clients in one sequence (both seen with the old numbering, where
    # they recur for the whole run); one Triton timeout at start-up on a loaded machine is not
    # one of them (the link restarts its sequence and cleans again)
    assert "conflict" not in log and "the server counted update" not in log, log[-3000:]
    assert log.count("writing raw strain") <= 1, log[-3000:]
    files = cleaned_files(run["projects"][which])
    last = run["last"]
    assert set(range(LIVE_GPS, last + 1)) <= set(files)
    for gps in range(last - 9, last + 1):  # the last 10 s, both streams running side by side
        bits = read_cleaned(files[gps])["DEEPCLEAN-STATE_VECTOR"]
        assert np.all(bits & StateBit.PRODUCTION_VALID), f"GPS {gps}: production not valid"
    end = read_cleaned(files[last])
    assert np.all(end["DEEPCLEAN-STATE_VECTOR"] & StateBit.OUT_DQ_CLEANED)
    assert not np.array_equal(
        end["GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION_OUT_DQ"], end["DEEPCLEAN-RAW_STRAIN"]
    )
