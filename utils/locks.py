"""One writer per directory: an exclusive ``fcntl.flock`` per service and IFO (or repository).

Every long-running service takes its lock before it writes anything, for as long as it
runs: ``$PROJECT_DIR/locks/<service>-<IFO>.lock`` (cleaner, monitor, trainer) and
``<repository's parent>/locks/exporter-<repository name>.lock`` (the exporter). A second
instance on the same files fails at once with a :class:`~deepclean.utils.errors.ResourceError`
naming the holder's pid (``services/cli.py`` prints it as one line, exit status 1).

The lock is the kernel's, not the file's existence: it is released when its holder exits,
however it exits, so a lock file left by a dead process is simply taken over (the file is
never deleted, which would let two processes lock two different files of the same name). The
holder's pid is written into the file for the message only.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import IO

from deepclean.utils.errors import ResourceError
from deepclean.utils.ifo import IFO

logger = logging.getLogger(__name__)

LOCKS_DIR = "locks"  #: folder of the lock files, in the project directory


def service_lock_path(project_dir: Path, service: str, ifo: IFO | str) -> Path:
    """``$PROJECT_DIR/locks/<service>-<IFO>.lock``."""
    return Path(project_dir) / LOCKS_DIR / f"{service}-{IFO(ifo)}.lock"


def repository_lock_path(repository: Path) -> Path:
    """``<repository's parent>/locks/exporter-<repository name>.lock`` (beside, not inside,
    the folder Triton reads)."""
    repository = Path(repository)
    return repository.parent / LOCKS_DIR / f"exporter-{repository.name}.lock"


class ServiceLock:
    """An exclusive lock on ``path`` held by this process; ``what`` names the service in messages.

    A context manager; :meth:`acquire` raises :class:`ResourceError` at once when another
    process (or another open of the same file in this one) holds it.
    """

    def __init__(self, path: Path, what: str) -> None:
        self.path = Path(path)
        self.what = what
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self) -> ServiceLock:
        if self._file is not None:
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        except OSError as exc:
            raise ResourceError(
                f"cannot open the lock file {self.path} of the {self.what}: {exc.strerror or exc}"
            ) from exc
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise ResourceError(
                f"another {self.what} is running (pid {holder}, lock {self.path}); "
                "stop it first, or give this one another project directory"
            ) from None
        except OSError as exc:
            handle.close()
            raise ResourceError(f"cannot lock {self.path}: {exc.strerror or exc}") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        logger.debug("holding %s", self.path)
        return self

    def release(self) -> None:
        """Give the lock up (also done by the kernel when the process ends)."""
        handle, self._file = self._file, None
        if handle is not None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def __enter__(self) -> ServiceLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_service(project_dir: Path, service: str, ifo: IFO | str) -> ServiceLock:
    """Take ``$PROJECT_DIR/locks/<service>-<IFO>.lock`` for this process (ResourceError if held)."""
    return ServiceLock(
        service_lock_path(project_dir, service, ifo), f"{service} of {IFO(ifo)}"
    ).acquire()
