"""One writer per directory: the lock, its message, and a dead holder's lock taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deepclean.utils.errors import ResourceError
from deepclean.utils.locks import ServiceLock, repository_lock_path, service_lock_path


def test_paths_are_per_service_and_ifo(tmp_path: Path) -> None:
    assert service_lock_path(tmp_path, "cleaner", "H1") == tmp_path / "locks" / "cleaner-H1.lock"
    assert service_lock_path(tmp_path, "cleaner", "L1") != service_lock_path(
        tmp_path, "cleaner", "H1"
    )
    assert (
        repository_lock_path(tmp_path / "model_repo")
        == tmp_path / "locks" / "exporter-model_repo.lock"
    )


def test_second_holder_fails_at_once_naming_the_pid(tmp_path: Path) -> None:
    path = service_lock_path(tmp_path, "cleaner", "H1")
    with ServiceLock(path, "cleaner of H1") as first:
        assert first.held
        assert path.read_text().strip() == str(os.getpid())
        began = time.monotonic()
        with pytest.raises(
            ResourceError, match=rf"another cleaner of H1 is running \(pid {os.getpid()}, lock "
        ):
            ServiceLock(path, "cleaner of H1").acquire()
        assert time.monotonic() - began < 0.5
        ServiceLock(
            service_lock_path(tmp_path, "cleaner", "L1"), "cleaner of L1"
        ).acquire().release()
    with ServiceLock(path, "cleaner of H1") as again:  # released: free again
        assert again.held


HOLD = """
import sys, time
from deepclean.utils.locks import ServiceLock
lock = ServiceLock(sys.argv[1], "monitor of H1").acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    path = service_lock_path(tmp_path, "monitor", "H1")
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(ResourceError, match=rf"pid {child.pid},"):
            ServiceLock(path, "monitor of H1").acquire()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert path.read_text().strip() == str(child.pid)  # the dead holder's file is still there
    with ServiceLock(path, "monitor of H1") as lock:
        assert lock.held
        assert path.read_text().strip() == str(os.getpid())


def test_an_unwritable_lock_folder_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "locks"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(ResourceError, match="cannot open the lock file .*cleaner-H1.lock"):
        ServiceLock(service_lock_path(tmp_path, "cleaner", "H1"), "cleaner of H1").acquire()
