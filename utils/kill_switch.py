"""The kill switch: an operator turns cleaning off (and on again) per IFO, on disk.

The switch of an IFO is ``$PROJECT_DIR/cleaning/<IFO>.json``; no file means cleaning is on.
``deepclean cleaning disable|enable`` writes it (atomically, fsynced: a crash leaves the old
switch or the new one, and a restart finds what was last set), and records the change in the
audit log. While it is off the cleaner writes OUT_DQ = the raw strain with state bit
``CLEANING_DISABLED`` (:class:`deepclean.utils.products.StateBit`), and the monitor neither
promotes nor rolls back. A file that cannot be read counts as **off** (the safe side: raw
strain is never wrong), with the reason saying so.

:class:`SwitchWatcher` is what the services use: one ``stat`` per call, the file read again
only when it changed, so checking it for every second written costs nothing.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deepclean.utils.files import atomic_write_text
from deepclean.utils.ifo import IFO

logger = logging.getLogger(__name__)

SWITCH_DIR = "cleaning"  #: folder of the switch files, in the project directory


def switch_path(project_dir: Path, ifo: IFO | str) -> Path:
    """``$PROJECT_DIR/cleaning/<IFO>.json``."""
    return Path(project_dir) / SWITCH_DIR / f"{IFO(ifo)}.json"


@dataclass(frozen=True)
class SwitchState:
    """Whether cleaning is on for an IFO, and who turned it off, when and why."""

    enabled: bool
    reason: str | None = None  #: the operator's words (or why the file could not be read)
    changed_utc: str | None = None  #: ISO 8601 UTC time of the last change
    user: str | None = None  #: ``user@host`` who changed it

    def describe(self) -> str:
        if self.enabled:
            return "cleaning on" + (f" (since {self.changed_utc})" if self.changed_utc else "")
        by = f" by {self.user}" if self.user else ""
        when = f" since {self.changed_utc}" if self.changed_utc else ""
        return f"cleaning off{by}{when}: {self.reason}"


def _parse(text: str) -> SwitchState:
    raw: Any = json.loads(text)
    if not isinstance(raw, dict) or not isinstance(raw.get("enabled"), bool):
        raise ValueError(f"expected an object with a boolean 'enabled', got {text[:80]!r}")
    return SwitchState(
        enabled=raw["enabled"],
        reason=raw.get("reason"),
        changed_utc=raw.get("changed_utc"),
        user=raw.get("user"),
    )


def read_switch(project_dir: Path, ifo: IFO | str) -> SwitchState:
    """The switch of ``ifo`` (on when there is no file; off when the file cannot be read)."""
    path = switch_path(project_dir, ifo)
    try:
        return _parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return SwitchState(enabled=True)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return SwitchState(enabled=False, reason=f"switch file {path} unreadable ({exc})")


def set_switch(
    project_dir: Path,
    ifo: IFO | str,
    *,
    enabled: bool,
    reason: str,
    now_unix_s: float | None = None,
) -> SwitchState:
    """Turn cleaning of ``ifo`` on or off (written atomically and fsynced); the new state."""
    reason = " ".join(str(reason).split())
    if not reason:
        raise ValueError("a reason is required (it goes into the audit log and the state file)")
    now = time.time() if now_unix_s is None else now_unix_s
    state = SwitchState(
        enabled=enabled,
        reason=reason,
        changed_utc=datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        user=f"{_user()}@{socket.gethostname()}",
    )
    atomic_write_text(switch_path(project_dir, ifo), json.dumps(asdict(state), indent=1) + "\n")
    return state


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (containers)
        return f"uid {os.getuid()}"


class SwitchWatcher:
    """The switch of one IFO, re-read only when its file changed (one ``stat`` per call)."""

    def __init__(self, project_dir: Path, ifo: IFO | str) -> None:
        self.project_dir, self.ifo = Path(project_dir), IFO(ifo)
        self.path = switch_path(project_dir, ifo)
        self._key: tuple[int, int, int] | None = None
        self._state = SwitchState(enabled=True)
        self._seen = False
        self._lock = threading.Lock()  # the checker thread and the status page's threads ask

    def state(self) -> SwitchState:
        with self._lock:
            return self._state_now()

    def _state_now(self) -> SwitchState:
        try:
            st = os.stat(self.path)
            key: tuple[int, int, int] | None = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            key = None
        except OSError as exc:
            return SwitchState(enabled=False, reason=f"switch file {self.path} unreadable ({exc})")
        if not self._seen or key != self._key:
            previous = self._state if self._seen else None
            self._state = read_switch(self.project_dir, self.ifo) if key else SwitchState(True)
            self._key, self._seen = key, True
            if previous is None or previous.enabled != self._state.enabled:
                log = logger.info if self._state.enabled else logger.warning
                log("%s: %s", self.ifo, self._state.describe())
        return self._state
