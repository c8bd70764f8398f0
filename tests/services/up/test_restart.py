"""The restart policy of ``deepclean up``: the backoff arithmetic, and the supervisor restarting
real processes (a crashing one, one killed -9 with a child left in its group) while Ctrl-C
still stops everything."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deepclean.services.up.restart import Backoff, ServiceRestarts

BIN = Path(sys.executable).parent


def test_backoff_doubles_up_to_its_maximum() -> None:
    backoff = Backoff(initial=1.0, factor=2.0, maximum=30.0)
    assert [backoff.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(10_000) == 30.0  # no overflow
    assert Backoff(initial=0.0).delay(5) == 0.0


def test_backoff_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="need 0 <= initial <= maximum"):
        Backoff(initial=10.0, maximum=5.0)
    with pytest.raises(ValueError, match="factor >= 1"):
        Backoff(factor=0.5)
    with pytest.raises(ValueError, match="streak 0: the crashes in a row count from 1"):
        Backoff().delay(0)


def test_a_long_run_ends_the_streak() -> None:
    record = ServiceRestarts(Backoff(initial=1.0, maximum=30.0, reset_after=60.0))
    now = 0.0
    waits = []
    for _ in range(4):  # crashes 5 s after each start: 1, 2, 4, 8 s
        now += 5.0
        waits.append(record.exited(now))
        assert not record.is_due(now) and record.is_due(now + waits[-1])
        now += waits[-1]
        record.restarted(now)
    assert waits == [1, 2, 4, 8] and record.restarts == 4 and record.streak == 4
    now += 61.0  # ran a minute: the next crash starts a new streak
    assert record.exited(now) == 1.0 and record.streak == 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_supervisor_restarts_what_exits_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    procfile, logs = tmp_path / "Procfile", tmp_path / "logs"
    pids = tmp_path / "pids"
    procfile.write_text(
        "crasher: sh -c 'echo crashing; exit 3'\n"
        # a shell and a child in its group; the shell is killed -9 below (honcho's sh -c then
        # exits 137), the child must not survive
        f"keeper: sh -c 'sleep 300 & echo $! >> {pids}; echo $$ >> {pids}; wait'\n"
    )
    script = (
        "import sys; from pathlib import Path; "
        "from deepclean.services.up.runner import run_procfile; "
        "from deepclean.services.up.restart import Backoff; "
        f"sys.exit(run_procfile(Path('{procfile}'), Path('{logs}'), stop_timeout=10, "
        f"bin_dir=Path('{BIN}'), backoff=Backoff(initial=0.2, maximum=0.4), group_grace=1.0))"
    )
    up = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    up_log = logs / "up.log"
    try:
        _wait(
            lambda: up_log.is_file() and "crasher restarting (restart 3)" in up_log.read_text(),
            60,
            "the crashing process was not restarted three times",
        )
        _wait(lambda: pids.is_file() and len(pids.read_text().split()) == 2, 30, "keeper pids")
        child, leader = map(int, pids.read_text().split())
        begun = time.monotonic()
        os.kill(leader, signal.SIGKILL)
        _wait(lambda: len(pids.read_text().split()) == 4, 30, "keeper not restarted")
        recovered = time.monotonic() - begun
        assert recovered < 1.0 + 0.2 + 5, recovered  # group grace + backoff + start
        assert not _alive(child), "the killed leader's child outlived it"
    finally:
        up.send_signal(signal.SIGINT)
        out, _ = up.communicate(timeout=60)
    assert up.returncode == 130, out
    text = up_log.read_text()
    assert re.search(r"crasher exited \(rc=3\) after \d+ s; restart 1 in 0.2 s", text), text
    assert "crasher exited (rc=3)" in text and "restart 3 in 0.4 s (crash 3 in a row)" in text
    assert re.search(r"keeper exited \(rc=(-9|137)\) after \d+ s; restart 1 in 0.2 s", text), text
    assert "SIGINT received" in text
    assert (logs / "crasher.log").read_text().count("crashing\n") >= 3
    for pid in map(int, pids.read_text().split()):
        _wait(lambda pid=pid: not _alive(pid), 10, f"pid {pid} outlived the stop")


def test_what_a_killed_service_started_in_another_session_is_stopped(tmp_path: Path) -> None:
    """Triton's server leads a session of its own: when `deepclean triton` is killed -9 the
    server (and its stubs) must not outlive it next to the restarted one."""
    procfile, logs, pids = tmp_path / "Procfile", tmp_path / "logs", tmp_path / "pids"
    procfile.write_text(
        f"escaper: sh -c 'setsid sleep 303 & echo $! >> {pids}; echo $$ >> {pids}; wait'\n"
    )
    script = (
        "import sys; from pathlib import Path; "
        "from deepclean.services.up.runner import run_procfile; "
        "from deepclean.services.up.restart import Backoff; "
        f"sys.exit(run_procfile(Path('{procfile}'), Path('{logs}'), stop_timeout=10, "
        f"bin_dir=Path('{BIN}'), backoff=Backoff(initial=0.2, maximum=0.4), group_grace=1.0))"
    )
    up = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait(lambda: pids.is_file() and len(pids.read_text().split()) == 2, 30, "pids")
        escaped, leader = map(int, pids.read_text().split())
        _wait(lambda: os.getsid(escaped) == escaped, 10, "setsid")  # its own session
        assert os.getsid(leader) != escaped
        os.kill(leader, signal.SIGKILL)
        _wait(lambda: not _alive(escaped), 15, "the process in its own session outlived it")
        _wait(lambda: len(pids.read_text().split()) == 4, 30, "not restarted")
    finally:
        up.send_signal(signal.SIGINT)
        out, _ = up.communicate(timeout=60)
    assert up.returncode == 130, out
    assert f"SIGKILL to [{escaped}] it left running" in (logs / "escaper.log").read_text()
    for pid in map(int, pids.read_text().split()):
        _wait(lambda pid=pid: not _alive(pid), 10, f"pid {pid} outlived the stop")
