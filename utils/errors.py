"""One small exception tree. Operators act on the subclasses; everything derives from
DeepCleanError.

:func:`expected_failure` is the one place that turns the failures a user can fix but that
no code raised on purpose (a path the system refuses, a file that is not text, memory)
into one line; ``deepclean``'s ``main()`` prints it instead of a traceback.
"""

import errno


class DeepCleanError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(DeepCleanError, ValueError):
    """A setting is missing or has a value that is not allowed."""


class FrameError(DeepCleanError):
    """A frame file is missing, unreadable, or its contents are not what was asked for."""


class DroppedFrameError(FrameError):
    """Too many consecutive frames were dropped for the stream to go on."""


class ServerUnavailableError(DeepCleanError):
    """A server (Triton, the exporter) could not be reached."""


class ExportError(DeepCleanError):
    """Exporting a model into a model repository failed; nothing half-written was left."""


class TrainingError(DeepCleanError):
    """Training failed or produced a model that must not replace the previous one."""


class TrainingInterrupted(TrainingError):
    """Training was asked to stop (SIGTERM/SIGINT) before it finished; nothing was saved."""


class ResourceError(DeepCleanError):
    """A run would need more memory or disk space than there is; refused before any work."""


class OutputExistsError(DeepCleanError):
    """An output already exists and the command was not asked to overwrite it."""


# --------------------------------------------------------------------------- expected failures

#: exit status of a real bug (an exception no one expected): BSD's EX_SOFTWARE
BUG_EXIT = 70
BUG_HINT = (
    "this is a bug in deepclean, not a problem with your input: please report it with the "
    "traceback above "
    "and the command line"
)

_PATH_LOCALS = ("path", "filename", "file", "fname", "dotenv_path", "name")


def _path_in_traceback(exc: BaseException) -> str | None:
    """The file being read when ``exc`` was raised: the innermost frame holding a path local
    (``pathlib.Path.read_text``'s ``self``, ``open(path)``'s caller...)."""
    from pathlib import PurePath

    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        for name, value in frame.f_locals.items():
            if isinstance(value, PurePath):
                return str(value)
            if name in _PATH_LOCALS and isinstance(value, str) and value:
                return value
    return None


def expected_failure(exc: BaseException) -> str | None:
    """One line for a failure a user can fix (a path, a text file, memory), None for a bug.

    ``OSError`` names the path and the system's reason, ``UnicodeDecodeError`` the file that
    is not text, ``MemoryError`` the allocation that did not fit.
    """
    if isinstance(exc, UnicodeDecodeError):
        where = _path_in_traceback(exc)
        what = f"file {where}" if where else "a text file"
        return (
            f"{what} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "allowed: a plain text file"
        )
    if isinstance(exc, MemoryError):
        detail = str(exc) or "an allocation failed"
        return f"not enough memory: {detail}; use a shorter span (--duration) or fewer channels"
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
        hint = _OS_HINTS.get(exc.errno or 0, "")
        if exc.filename is not None:
            target = f" -> {exc.filename2}" if exc.filename2 is not None else ""
            return f"{exc.filename}{target}: {reason}{hint}"
        return f"{type(exc).__name__}: {reason}{hint}"
    return None


_OS_HINTS = {
    errno.EEXIST: "; allowed: a directory there (a file is in the way)",
    errno.ENOTDIR: "; allowed: directories along the path (a file is in the way)",
    errno.EISDIR: "; allowed: a file there, not a directory",
    errno.EACCES: "; allowed: a path this user may use",
    errno.EPERM: "; allowed: a path this user may change (not immutable)",
    errno.EROFS: "; allowed: a path on a writable file system",
    errno.ENOSPC: "; free some space or choose another directory",
    errno.EDQUOT: "; free some space or choose another directory",
}


def read_text_file(path, what: str) -> str:
    """The text of ``path``; a :class:`ConfigError` naming ``what`` and the path when it is
    missing, a directory, unreadable or not UTF-8 text."""
    from pathlib import Path

    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{what} {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
            f"offset {exc.start}); "
            "allowed: a plain text file"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
