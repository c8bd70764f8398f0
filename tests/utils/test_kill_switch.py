"""The kill switch on disk: on by default, off with a reason, unreadable is off, watched cheaply."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from deepclean.utils.kill_switch import SwitchWatcher, read_switch, set_switch, switch_path


def test_on_without_a_file(tmp_path: Path) -> None:
    assert read_switch(tmp_path, "H1").enabled


def test_off_and_on_again_with_who_and_why(tmp_path: Path) -> None:
    state = set_switch(tmp_path, "H1", enabled=False, reason="  bad   witness ", now_unix_s=0.0)
    assert not state.enabled and state.reason == "bad witness"
    assert state.changed_utc == "1970-01-01T00:00:00.000000Z" and "@" in state.user
    assert read_switch(tmp_path, "H1") == state
    assert read_switch(tmp_path, "L1").enabled  # per IFO
    assert json.loads(switch_path(tmp_path, "H1").read_text())["enabled"] is False
    assert [p.name for p in switch_path(tmp_path, "H1").parent.iterdir()] == ["H1.json"]
    assert set_switch(tmp_path, "H1", enabled=True, reason="fixed").enabled
    assert read_switch(tmp_path, "H1").enabled


def test_a_reason_is_required(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="a reason is required"):
        set_switch(tmp_path, "H1", enabled=False, reason="   ")
    assert not switch_path(tmp_path, "H1").exists()


@pytest.mark.parametrize("content", [b"{not json", b'{"enabled": "no"}', b"\xff\xfe"])
def test_an_unreadable_switch_counts_as_off(tmp_path: Path, content: bytes) -> None:
    path = switch_path(tmp_path, "H1")
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    state = read_switch(tmp_path, "H1")
    assert not state.enabled
    assert state.reason.startswith(f"switch file {path} unreadable (")


def test_the_watcher_follows_changes(tmp_path: Path) -> None:
    watcher = SwitchWatcher(tmp_path, "H1")
    assert watcher.state().enabled
    set_switch(tmp_path, "H1", enabled=False, reason="one")
    assert watcher.state().reason == "one"
    set_switch(tmp_path, "H1", enabled=False, reason="two")  # a new file (rename): new inode
    assert watcher.state().reason == "two"
    os.unlink(switch_path(tmp_path, "H1"))
    assert watcher.state().enabled
