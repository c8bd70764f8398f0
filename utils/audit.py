"""The audit trail: who changed which model or switch, when, and on what evidence.

Every export, promotion, rejection, rollback and kill-switch change is appended as one
JSON line to ``PROJECT_DIR/audit.jsonl``::

    {"time_utc": "2026-12-04T16:50:01.123456Z", "gps": 1448816219.123, "action": "promote",
     "who": "monitor", "ifo": "H1", "versions": {"from": 2, "to": 3},
     "evidence": {"canary_ratio": 0.21, "production_ratio": 0.95}}

The file is only ever appended to: each entry is written with one ``write`` on a
descriptor opened with ``O_APPEND`` under an exclusive ``flock`` (several services and the
CLI append to the same file), then ``fsync``-ed before :func:`append_audit` returns; the
project directory is fsynced too when the file is created. A line cut short by a crash is
ended by the next append and skipped (with a warning) by the readers; it never hides the
entries before or after it.

API: :func:`append_audit` (write one entry), :func:`latest_audit` (the newest ``count``
entries, newest first), :func:`read_audit` (all of them, oldest first); entries are
:class:`AuditEntry`, actions :class:`AuditAction`, authors :class:`Actor`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from deepclean.utils.files import fsync_dir

logger = logging.getLogger(__name__)

AUDIT_FILE = "audit.jsonl"  #: name of the audit log inside the project directory
_TAIL_CHUNK_BYTES = 64 * 1024


class AuditAction(StrEnum):
    """What happened."""

    EXPORT = "export"  #: a trained run was exported and loaded as canary
    PROMOTE = "promote"  #: the canary became production
    REJECT = "reject"  #: the canary was judged worse and not promoted (or its export failed)
    ROLLBACK = "rollback"  #: production went back to the version before it
    CLEANING_DISABLED = "cleaning-disabled"  #: kill switch off: OUT_DQ = raw strain
    CLEANING_ENABLED = "cleaning-enabled"  #: kill switch back on


class Actor(StrEnum):
    """Who did it."""

    REQUEST = "request"  #: an HTTP request to the exporter carrying the right token
    UNAUTHENTICATED = "unauthenticated-request"  #: a request to an exporter run without a token
    MONITOR = "monitor"  #: the monitor's own decision
    TRAINER = "trainer"  #: the trainer's notification after a run
    EXPORTER = "exporter"  #: the exporter on its own (the newest run, exported at start)
    CLI = "cli"  #: an operator at the command line


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    time_utc: str  #: ISO 8601 UTC time with microseconds and a trailing ``Z``
    gps: float  #: the same instant as GPS seconds (leap seconds applied)
    action: str  #: an :class:`AuditAction` value (kept as text so old logs always read)
    who: str  #: an :class:`Actor` value
    ifo: str | None = None
    #: the model versions involved, e.g. ``{"from": 2, "to": 3}`` or ``{"version": 4}``
    versions: dict[str, int | None] = field(default_factory=dict)
    #: what the decision rested on: ratios, ranges, a reason text, the request's origin
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The entry as one JSON line (no newline inside, keys in a fixed order)."""
        return json.dumps(asdict(self), separators=(", ", ": "), allow_nan=False, default=str)


def audit_path(project_dir: Path) -> Path:
    """``PROJECT_DIR/audit.jsonl``."""
    return Path(project_dir) / AUDIT_FILE


def gps_from_unix(unix_s: float) -> float:
    """GPS seconds of a Unix time (seconds since 1970 UTC), with the leap seconds from LAL."""
    import lal

    whole = int(unix_s // 1)
    return float(lal.UTCToGPS(time.gmtime(whole))) + (unix_s - whole)


def _json_safe(value: Any) -> Any:
    """``value`` as plain JSON types; non-finite floats become ``None`` (JSON has no NaN)."""
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()  # a numpy scalar
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def append_audit(
    project_dir: Path,
    action: AuditAction,
    who: Actor,
    *,
    ifo: str | None = None,
    versions: Mapping[str, int | None] | None = None,
    evidence: Mapping[str, Any] | None = None,
    now_unix_s: float | None = None,
) -> AuditEntry:
    """Append one entry to ``project_dir/audit.jsonl``, fsynced before returning it.

    ``now_unix_s`` (default: the clock) is the time of the event in Unix seconds. Raises
    ``OSError`` when the entry could not be written durably: a caller that changed state
    logs it loudly but does not undo the change.
    """
    now = time.time() if now_unix_s is None else now_unix_s
    entry = AuditEntry(
        time_utc=datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        gps=round(gps_from_unix(now), 6),
        action=AuditAction(action).value,
        who=Actor(who).value,
        ifo=None if ifo is None else str(ifo),
        versions={str(k): (None if v is None else int(v)) for k, v in (versions or {}).items()},
        evidence=_json_safe(dict(evidence or {})),
    )
    line = (entry.to_json() + "\n").encode()
    path = audit_path(project_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line  # end a line a crash cut short, so this entry stays whole
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(f"audit log {path}: wrote {written} of {len(line)} bytes")
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
    if created:
        fsync_dir(path.parent)
    logger.info("audit: %s by %s %s %s", entry.action, entry.who, entry.versions, entry.evidence)
    return entry


def _parse(line: bytes, path: Path) -> AuditEntry | None:
    try:
        raw = json.loads(line)
        return AuditEntry(
            time_utc=str(raw["time_utc"]),
            gps=float(raw["gps"]),
            action=str(raw["action"]),
            who=str(raw["who"]),
            ifo=raw.get("ifo"),
            versions=dict(raw.get("versions") or {}),
            evidence=dict(raw.get("evidence") or {}),
        )
    except (ValueError, KeyError, TypeError) as exc:
        logger.warning("audit log %s: skipping a bad line %.80r (%s)", path, line, exc)
        return None


def read_audit(project_dir: Path) -> list[AuditEntry]:
    """Every entry of the audit log, oldest first (an empty list when there is none yet)."""
    path = audit_path(project_dir)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    entries = (_parse(line, path) for line in data.splitlines() if line.strip())
    return [e for e in entries if e is not None]


def latest_audit(project_dir: Path, count: int) -> list[AuditEntry]:
    """The newest ``count`` entries, newest first; reads only the end of a long log."""
    if count <= 0:
        return []
    path = audit_path(project_dir)
    try:
        with path.open("rb") as stream:
            size = stream.seek(0, os.SEEK_END)
            start, data = size, b""
            while start > 0 and data.count(b"\n") <= count:
                start = max(0, start - _TAIL_CHUNK_BYTES)
                stream.seek(start)
                data = stream.read(size - start)
    except FileNotFoundError:
        return []
    lines = data.splitlines()
    if start > 0:
        lines = lines[1:]  # the first line read may be cut
    newest: list[AuditEntry] = []
    for line in reversed(lines):
        if len(newest) == count:
            break
        if line.strip() and (entry := _parse(line, path)) is not None:
            newest.append(entry)
    return newest
