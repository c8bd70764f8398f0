"""Durable atomic file writes: the one place that writes a file under a temporary name, fsyncs
it, moves it into place and fsyncs its folder.

A reader (another service, a crawler, a restart after a crash or a power cut) sees either the
previous file or the complete new one, never a part: the content goes to ``.<name>.<random>.tmp``
in the same folder (hidden, so crawlers and watchers that skip dot files never pick it up),
is fsynced, gets the mode a plain ``open(path, "w")`` would have given (0o666 less the umask;
``mkstemp`` makes 0o600), replaces ``path`` with :func:`os.replace`, and the folder is fsynced
so the rename itself survives a crash. On any failure the temporary file is removed and the
previous ``path`` is untouched.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

logger = logging.getLogger(__name__)
_FAILING: set[Path] = set()  #: paths whose last :func:`save_state_text` failed
T = TypeVar("T")


@functools.cache
def plain_file_mode() -> int:
    """0o666 less the process umask: the mode ``open(path, "w")`` gives a new file."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def fsync_dir(directory: Path) -> None:
    """Make the entries of ``directory`` (a rename, a new file) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    """Flush the content of the file ``path`` to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[Path], None], *, durable: bool = True) -> Path:
    """Write ``path`` durably and atomically: ``write(tmp)`` fills a temporary file in the same
    folder (created empty; ``write`` may reopen or replace it), which then replaces ``path``.
    The folder is created if missing. Returns ``path``. ``durable=False`` skips the two fsyncs
    (still atomic for readers, but a power cut may leave an empty file): only for data that is
    checked and regenerated on restart, such as the simulator's frames."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        if durable:
            fsync_file(tmp)
        os.chmod(tmp, plain_file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """:func:`atomic_write` of UTF-8 ``text``."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """:func:`atomic_write` of ``data``."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def durable_replace(source: Path, target: Path) -> None:
    """``os.replace(source, target)`` (a file or a folder in the same file system), then fsync
    the folder(s) holding them so the move survives a crash."""
    os.replace(source, target)
    fsync_dir(Path(target).parent)
    if Path(source).parent.resolve() != Path(target).parent.resolve():
        fsync_dir(Path(source).parent)


def save_state_text(path: Path, text: str, what: str) -> bool:
    """:func:`atomic_write_text` for state a service also keeps in memory (the monitor's): a
    failed write (a full disk) is one warning line naming ``what`` and the error, not an
    exception; the first save that works again says so. Whether it was written."""
    path = Path(path)
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        _FAILING.add(path)
        logger.warning("could not save %s to %s (kept in memory): %s", what, path, exc)
        return False
    if path in _FAILING:
        _FAILING.discard(path)
        logger.info("saved %s to %s again", what, path)
    return True


def load_state_json(path: Path, what: str, parse: Callable[[object], T]) -> T | None:
    """``parse(json)`` of what :func:`save_state_text` saved in ``path``; None when there is no
    such file, or when it cannot be read or parsed (one error line naming ``what``: the service
    starts without it)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return parse(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        logger.error("ignoring unreadable %s %s: %s", what, path, exc)
        return None
