"""``deepclean cleaning disable|enable|status``: the switch file, the audit log, the messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepclean.utils.audit import read_audit
from deepclean.utils.kill_switch import read_switch

from ..trainer.sim_helpers import run_cli


@pytest.fixture(autouse=True)
def no_env(tmp_path, monkeypatch):
    for name in ("IFO", "PROJECT_DIR", "DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "empty.env").write_text("")
    monkeypatch.setenv("DEEPCLEAN_ENV_FILE", str(tmp_path / "empty.env"))


def test_disable_status_enable(tmp_path: Path, capsys) -> None:
    p = str(tmp_path / "project")
    assert (
        run_cli(["cleaning", "disable", "--project-dir", p, "--ifo", "L1", "--reason", "test"]) == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("L1: cleaning off by ") and out.rstrip().endswith(": test")
    assert not read_switch(Path(p), "L1").enabled and read_switch(Path(p), "H1").enabled
    assert run_cli(["cleaning", "status", "--project-dir", p]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "H1: cleaning on" and lines[1].startswith("L1: cleaning off by ")
    assert run_cli(["cleaning", "enable", "--project-dir", p, "--ifo", "L1", "--reason", "ok"]) == 0
    assert read_switch(Path(p), "L1").enabled
    entries = read_audit(Path(p))
    assert [(e.action, e.who, e.ifo) for e in entries] == [
        ("cleaning-disabled", "cli", "L1"),
        ("cleaning-enabled", "cli", "L1"),
    ]
    assert entries[0].evidence["reason"] == "test" and entries[0].evidence["was"] == "on"
    assert entries[1].evidence["was"] == "off"


def test_a_reason_is_required(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["cleaning", "disable", "--project-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "the following arguments are required: --reason" in capsys.readouterr().err
    code = run_cli(["cleaning", "disable", "--project-dir", str(tmp_path), "--reason", " "])
    assert code == 2
    assert (
        "deepclean cleaning: error: --reason ' ': a reason is required" in capsys.readouterr().err
    )
    assert read_switch(tmp_path, "H1").enabled
