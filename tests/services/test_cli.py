"""The deepclean entry point: every registered subcommand exists and documents its options."""

import subprocess
import sys

import pytest

from deepclean.services.cli import SUBCOMMANDS, build_parser, main


def test_every_subcommand_is_registered() -> None:
    parser, modules = build_parser()
    assert set(modules) == set(SUBCOMMANDS)


@pytest.mark.parametrize("command", sorted(SUBCOMMANDS))
def test_subcommand_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: deepclean" in capsys.readouterr().out


def test_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deepclean.services.cli", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    for command in SUBCOMMANDS:
        assert command in result.stdout
