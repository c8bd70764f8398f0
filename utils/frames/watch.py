"""Wake a waiting thread when anything happens in one directory (watchdog / inotify).

:class:`DirectoryWatcher` counts filesystem events (created, written, closed, moved in)
in one directory. A waiter reads :meth:`~DirectoryWatcher.generation`, checks what it is
waiting for, then calls :meth:`~DirectoryWatcher.wait` with that generation: an event that
happened in between makes ``wait`` return at once, so no wake-up is lost. If the directory
does not exist yet, it is watched from the moment it appears (checked on every ``wait``).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

logger = logging.getLogger(__name__)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: DirectoryWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in ("opened", "closed_no_write"):  # reads change nothing
            self.watcher._notify()


class DirectoryWatcher:
    """Count filesystem events in ``directory`` and let threads wait for the next one."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._condition = threading.Condition()
        self._generation = 0
        self._observer: Observer | None = None
        self._closed = False

    def __enter__(self) -> DirectoryWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> bool:
        """Start watching if the directory exists; return whether it is watched."""
        with self._condition:
            if self._closed:
                raise RuntimeError(f"watcher of {self.directory} is closed")
            if self._observer is not None:
                return True
            if not self.directory.is_dir():
                return False
            observer = Observer()
            observer.daemon = True
            observer.schedule(_Handler(self), str(self.directory), recursive=False)
            observer.start()
            self._observer = observer
            self._generation += 1  # files may have appeared before the watch began
            self._condition.notify_all()
            logger.debug("watching %s", self.directory)
            return True

    def close(self) -> None:
        """Stop watching and wake every waiter; idempotent."""
        with self._condition:
            observer, self._observer = self._observer, None
            self._closed = True
            self._generation += 1
            self._condition.notify_all()
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)

    @property
    def closed(self) -> bool:
        return self._closed

    def _notify(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def generation(self) -> int:
        """The number of events seen so far (read it before checking for a file)."""
        with self._condition:
            return self._generation

    def wait(self, generation: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for an event after ``generation``; True if one came.

        Starts the watch first if the directory has appeared since; returns at once when the
        watcher is closed.
        """
        if self._observer is None and not self._closed:
            self.start()
        with self._condition:
            return self._condition.wait_for(
                lambda: self._generation != generation or self._closed, timeout=max(timeout, 0.0)
            )
