"""Durable atomic writes: all or nothing, plain file mode, no temporary file left behind."""

import os
from pathlib import Path

import pytest

from deepclean.utils.files import (
    atomic_write,
    atomic_write_bytes,
    atomic_write_text,
    durable_replace,
    load_state_json,
    plain_file_mode,
    save_state_text,
)


def test_text_and_bytes_replace_the_file_and_leave_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.json"
    atomic_write_text(path, "first")
    atomic_write_text(path, "second ✓")
    assert path.read_text(encoding="utf-8") == "second ✓"
    atomic_write_bytes(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.json"]


def test_mode_is_that_of_a_plainly_written_file(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_text("x")
    atomic = atomic_write_text(tmp_path / "atomic", "x")
    assert (atomic.stat().st_mode & 0o777) == (plain.stat().st_mode & 0o777) == plain_file_mode()


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path: Path) -> None:
    path = atomic_write_text(tmp_path / "config.pbtxt", "old")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(path, half_then_fail)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["config.pbtxt"]


def test_the_temporary_file_is_hidden_in_the_same_folder(tmp_path: Path) -> None:
    seen = []
    atomic_write(tmp_path / "H-H1-1400000000-1.gwf", lambda tmp: seen.append(tmp))
    assert seen[0].parent == tmp_path
    assert seen[0].name.startswith(".H-H1-1400000000-1.gwf.") and seen[0].suffix == ".tmp"


def test_durable_replace_moves_a_folder_over_another(tmp_path: Path) -> None:
    source, target = tmp_path / "run.tmp", tmp_path / "run"
    source.mkdir()
    (source / "weights.pt").write_bytes(b"new")
    target.mkdir()
    durable_replace(source, tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / "weights.pt").read_bytes() == b"new"
    assert not source.exists()


def test_load_state_json_gives_the_parsed_state_or_none_with_one_line(tmp_path, caplog):
    path = tmp_path / "state.json"
    assert load_state_json(path, "the test state", dict) is None  # no file: nothing said
    assert caplog.records == []
    save_state_text(path, '{"a": [1, 2]}', "the test state")
    assert load_state_json(path, "the test state", lambda d: d["a"]) == [1, 2]
    assert load_state_json(path, "the test state", lambda d: d["b"]) is None  # KeyError
    path.write_text("{not json")
    assert load_state_json(path, "the test state", dict) is None
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and all(f"ignoring unreadable the test state {path}" in m for m in lines)
