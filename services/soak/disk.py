"""The soak's disk-full fault: the project directory on a tmpfs of its own, filled for a while.

The project directory (cleaned frames, archive, model repository, logs, monitor state) is
mounted as a tmpfs before ``deepclean up`` starts. A tmpfs takes memory only for what is
written, and its size can be changed while mounted: to fill it, :func:`fill` shrinks it to
what is in use plus a little (``mount -o remount,size=``) and writes a filler file into the
rest, topping the filler up while it holds (the carousel deletes old frames, which would free
space); then it removes the filler and gives the size back. Every write in the project
directory fails with ENOSPC meanwhile, and nothing outside it is touched (filling the
machine's real disk would hit everyone on it).

Mounting needs CAP_SYS_ADMIN (root, outside a container that drops it). Where the mount is
refused, :func:`mount_tmpfs` returns the reason and the soak skips the fault, saying so in its
report.
"""

from __future__ import annotations

import errno
import os
import subprocess
import time
from pathlib import Path

DISK_FULL_S = 60.0  #: s the disk-full fault keeps the project directory full by default
#: size of the tmpfs when not full (a ceiling: a tmpfs uses memory only for what it holds)
TMPFS_SIZE = "4g"
FILLER = ".soak-disk-full"  #: the filler file, at the top of the mount
SLACK = 64 * 1024  #: bytes left above what is in use when shrinking (then filled)


def _mount(*args: str) -> str | None:
    """Run ``mount``/``umount``; None on success, else the reason in one line."""
    try:
        done = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{args[0]} failed: {exc}"
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        return f"{' '.join(args)}: {reason[0] if reason else f'exit status {done.returncode}'}"
    return None


def mount_tmpfs(directory: Path) -> str | None:
    """Mount a tmpfs on ``directory`` (created, must be empty); None on success, else why not."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        return f"{directory} is not empty; the disk-full fault mounts a tmpfs on an empty folder"
    return _mount(
        "mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0755", "tmpfs", str(directory)
    )


def unmount(directory: Path) -> str | None:
    """Unmount ``directory`` (lazily: a process still holding a file there does not block it)."""
    return _mount("umount", "-l", str(directory))


def used_bytes(directory: Path) -> int:
    st = os.statvfs(directory)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def _top_up(filler: Path) -> int:
    """Append to ``filler`` until the file system refuses (ENOSPC); bytes written."""
    written = 0
    chunk = b"\0" * 65536
    try:
        with open(filler, "ab") as out:
            while True:
                out.write(chunk)
                out.flush()
                written += len(chunk)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    return written


def fill(directory: Path, seconds: float, stop=None) -> str:
    """Make ``directory`` (a tmpfs from :func:`mount_tmpfs`) full for ``seconds``; what was done.

    ``stop``: a ``threading.Event`` that ends the fault early (the soak stopping)."""
    directory = Path(directory)
    filler = directory / FILLER
    for _ in range(20):  # the pipeline writes meanwhile: retry until the size holds what is used
        size = used_bytes(directory) + SLACK
        if _mount("mount", "-o", f"remount,size={size}", str(directory)) is None:
            break
        time.sleep(0.1)
    else:
        return "skipped: could not shrink the tmpfs to what it holds (20 tries)"
    try:
        _top_up(filler)
        begun = time.monotonic()
        while time.monotonic() - begun < seconds and not (stop is not None and stop.is_set()):
            _top_up(filler)  # the carousel frees space as it deletes old frames
            time.sleep(0.2)
    finally:
        filler.unlink(missing_ok=True)
        failed = _mount("mount", "-o", f"remount,size={TMPFS_SIZE}", str(directory))
    if failed:
        return f"full for {seconds:g} s; giving the size back FAILED: {failed}"
    return f"{directory.name}/ full (ENOSPC) for {seconds:g} s, then {TMPFS_SIZE} again"
