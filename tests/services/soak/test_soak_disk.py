"""The soak's disk-full fault on a real tmpfs: while it holds, a write in the folder fails with
ENOSPC (and a service's state save is one warning line, no exception); afterwards writes work
and the size is back. Mounting needs CAP_SYS_ADMIN: without it the test skips, with the reason
``mount_tmpfs`` gives (the soak skips the fault with the same reason)."""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from pathlib import Path

import pytest

from deepclean.services.soak import disk
from deepclean.utils.files import save_state_text


@pytest.fixture
def tmpfs(tmp_path: Path):
    folder = tmp_path / "project"
    reason = disk.mount_tmpfs(folder)
    if reason is not None:
        pytest.skip(f"cannot mount a tmpfs here: {reason}")
    yield folder
    assert disk.unmount(folder) is None


def test_a_full_tmpfs_refuses_writes_then_takes_them_again(tmpfs: Path, caplog) -> None:
    (tmpfs / "before").write_bytes(b"x" * 100_000)
    done: list[str] = []
    filler = threading.Thread(target=lambda: done.append(disk.fill(tmpfs, 2.0)))
    filler.start()
    deadline = time.monotonic() + 5
    while not (tmpfs / disk.FILLER).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    with pytest.raises(OSError) as refused:
        (tmpfs / "during").write_bytes(os.urandom(200_000))
    assert refused.value.errno == errno.ENOSPC
    with caplog.at_level(logging.WARNING, logger="deepclean.utils.files"):
        assert not save_state_text(tmpfs / "state.json", "{}" * 100_000, "the test state")
    lines = [r for r in caplog.records if r.name == "deepclean.utils.files"]
    assert len(lines) == 1 and "No space left on device" in lines[0].getMessage()
    assert lines[0].exc_info is None  # one line, no traceback
    filler.join(timeout=10)
    assert done and "full (ENOSPC) for 2 s" in done[0], done
    assert not (tmpfs / disk.FILLER).exists()
    assert disk.used_bytes(tmpfs) < 1_000_000 and os.statvfs(tmpfs).f_blocks * 4096 >= 2**30
    with caplog.at_level(logging.INFO, logger="deepclean.utils.files"):
        assert save_state_text(tmpfs / "state.json", "{}", "the test state")
    assert "saved the test state" in caplog.text and (tmpfs / "state.json").read_text() == "{}"
    assert (tmpfs / "before").stat().st_size == 100_000


def test_mounting_on_a_folder_in_use_is_refused(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "something").write_text("x")
    reason = disk.mount_tmpfs(tmp_path / "project")
    assert reason is not None and "is not empty" in reason
