"""The audit log: one fsynced JSON line per event, readable newest first, safe with many writers."""

import json
import multiprocessing
import os
from datetime import UTC, datetime

import numpy as np
import pytest

from deepclean.utils.audit import (
    AUDIT_FILE,
    Actor,
    AuditAction,
    append_audit,
    gps_from_unix,
    latest_audit,
    read_audit,
)

# 2026-12-04T16:50:00Z: 18 leap seconds since the GPS epoch (independent figure from the
# IERS bulletins: GPS - UTC = 18 s since 2017-01-01)
UNIX_S = datetime(2026, 12, 4, 16, 50, 0, tzinfo=UTC).timestamp()
GPS_S = UNIX_S - 315964800 + 18


def test_gps_from_unix_applies_the_leap_seconds() -> None:
    assert gps_from_unix(UNIX_S + 0.25) == pytest.approx(GPS_S + 0.25, abs=1e-6)


def test_an_entry_is_one_json_line_with_every_field(tmp_path) -> None:
    entry = append_audit(
        tmp_path,
        AuditAction.PROMOTE,
        Actor.MONITOR,
        ifo="H1",
        versions={"from": 2, "to": np.int64(3)},
        evidence={"canary_ratio": np.float64(0.21), "bad": float("nan"), "ranges": (1.0, 2.0)},
        now_unix_s=UNIX_S,
    )
    lines = (tmp_path / AUDIT_FILE).read_text().splitlines()
    assert len(lines) == 1
    raw = json.loads(lines[0])
    assert raw == {
        "time_utc": "2026-12-04T16:50:00.000000Z",
        "gps": GPS_S,
        "action": "promote",
        "who": "monitor",
        "ifo": "H1",
        "versions": {"from": 2, "to": 3},
        "evidence": {"canary_ratio": 0.21, "bad": None, "ranges": [1.0, 2.0]},
    }
    assert read_audit(tmp_path) == [entry]


def test_unknown_action_or_actor_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="'deploy' is not a valid AuditAction"):
        append_audit(tmp_path, "deploy", Actor.CLI)
    with pytest.raises(ValueError, match="'root' is not a valid Actor"):
        append_audit(tmp_path, AuditAction.ROLLBACK, "root")
    assert not (tmp_path / AUDIT_FILE).exists()


def test_latest_is_newest_first_and_reads_past_a_torn_line(tmp_path) -> None:
    for version in range(1, 6):
        append_audit(tmp_path, AuditAction.EXPORT, Actor.TRAINER, versions={"version": version})
    with (tmp_path / AUDIT_FILE).open("ab") as stream:
        stream.write(b'{"time_utc": "2026-12-04T1')  # a crash in the middle of a write
    append_audit(tmp_path, AuditAction.ROLLBACK, Actor.CLI, versions={"from": 5, "to": 4})
    latest = latest_audit(tmp_path, 3)
    assert [(e.action, e.versions) for e in latest] == [
        ("rollback", {"from": 5, "to": 4}),
        ("export", {"version": 5}),
        ("export", {"version": 4}),
    ]
    assert len(read_audit(tmp_path)) == 6
    assert latest_audit(tmp_path, 0) == []
    assert latest_audit(tmp_path / "nowhere", 5) == []


def test_latest_reads_only_the_tail_of_a_long_log(tmp_path) -> None:
    """Entries larger than the read chunk in a long file: the newest are still whole."""
    big = "x" * 50_000
    for version in range(1, 8):
        append_audit(
            tmp_path,
            AuditAction.REJECT,
            Actor.MONITOR,
            versions={"version": version},
            evidence={"note": big},
        )
    latest = latest_audit(tmp_path, 4)
    assert [e.versions["version"] for e in latest] == [7, 6, 5, 4]
    assert all(e.evidence["note"] == big for e in latest)


def _append_many(directory: str, worker: int) -> None:
    for i in range(50):
        append_audit(
            directory,
            AuditAction.EXPORT,
            Actor.CLI,
            versions={"version": worker * 1000 + i},
            evidence={"pad": "y" * 3000},
        )


def test_concurrent_writers_never_interleave(tmp_path) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(tmp_path), w)) for w in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    lines = (tmp_path / AUDIT_FILE).read_bytes().splitlines()
    versions = sorted(json.loads(line)["versions"]["version"] for line in lines)
    assert versions == sorted(w * 1000 + i for w in range(4) for i in range(50))


def test_the_log_is_created_readable_and_not_executable(tmp_path) -> None:
    append_audit(
        tmp_path / "project",
        AuditAction.CLEANING_DISABLED,
        Actor.CLI,
        ifo="L1",
        evidence={"reason": "maintenance"},
    )
    mode = os.stat(tmp_path / "project" / AUDIT_FILE).st_mode & 0o777
    assert mode & 0o111 == 0
    assert latest_audit(tmp_path / "project", 1)[0].evidence == {"reason": "maintenance"}
