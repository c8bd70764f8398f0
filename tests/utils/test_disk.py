"""Disk helpers: the free-space gauge against os.statvfs, ENOSPC told apart, once-a-minute logs."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from deepclean.utils.disk import DiskFull, free_bytes, is_disk_full, watch_disk


def test_the_gauge_is_statvfs_of_each_folder(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    missing = tmp_path / "not" / "yet"
    watch_disk(registry, [tmp_path, missing])
    text = generate_latest(registry).decode()
    st = os.statvfs(tmp_path)
    for path in (tmp_path, missing):  # a folder not made yet: its nearest existing parent
        values = {
            name: float(line.split()[-1])
            for line in text.splitlines()
            for name in ("free", "total")
            if line.startswith(f'deepclean_disk_{name}_bytes{{path="{path}"}}')
        }
        assert abs(values["free"] - st.f_bavail * st.f_frsize) < 64 * 2**20  # others write too
        assert values["total"] == st.f_blocks * st.f_frsize
    assert free_bytes(tmp_path)[1] == st.f_blocks * st.f_frsize


def test_disk_full_errors() -> None:
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(ValueError("no"))


def test_skipped_writes_are_logged_once_a_minute(caplog) -> None:
    now = [0.0]
    full = DiskFull("cleaned frames", clock=lambda: now[0])
    error = OSError(errno.ENOSPC, "No space left on device")
    with caplog.at_level(logging.INFO):
        for second in range(130):
            now[0] = float(second)
            full.failed(f"GPS {second}", error)
        full.wrote("GPS 130")
    lines = [r.getMessage() for r in caplog.records]
    assert [x.split(" not written")[0] for x in lines[:-1]] == [
        "disk full: GPS 0",
        "disk full: GPS 60",
        "disk full: GPS 120",
    ]
    assert (
        lines[-1]
        == "disk space is back: cleaned frames written again from GPS 130 on, after 130 not written"
    )
    assert not full.full and full.total == 130
