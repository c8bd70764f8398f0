"""Where the token comes from (environment, then .env) and the one ``up`` generates (0600)."""

import os
import stat

import pytest

from deepclean.utils.auth import TOKEN_FILE, bearer, project_token, read_token
from deepclean.utils.errors import ConfigError


def test_environment_first_then_the_dot_env_file(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert read_token({}) is None  # no .env here
    (tmp_path / ".env").write_text("IFO=H1\nDEEPCLEAN_TOKEN=from-file\n")
    assert read_token({}) == "from-file"
    assert read_token({"DEEPCLEAN_TOKEN": "from-env"}) == "from-env"
    assert read_token({"DEEPCLEAN_TOKEN": "  "}) == "from-file"  # empty is unset, as in settings
    other = tmp_path / "other.env"
    other.write_text("DEEPCLEAN_TOKEN=other\n")
    assert read_token({"DEEPCLEAN_ENV_FILE": str(other)}) == "other"
    assert read_token({"DEEPCLEAN_ENV_FILE": str(tmp_path / "missing.env")}) is None
    (tmp_path / ".env").write_text("DEEPCLEAN_TOKEN=\n")  # as in .env.example
    assert read_token({}) is None
    assert bearer("t") == {"Authorization": "Bearer t"} and bearer(None) == {}


def test_project_token_is_generated_once_owner_only(tmp_path) -> None:
    first = project_token(tmp_path / "project")
    path = tmp_path / "project" / TOKEN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 40 and path.read_text() == first + "\n"
    assert project_token(tmp_path / "project") == first
    assert project_token(tmp_path / "other") != first


def test_project_token_refuses_a_readable_or_bad_file(tmp_path) -> None:
    path = tmp_path / TOKEN_FILE
    path.write_text("x" * 43)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match=r"token file .* has mode 0644; allowed: readable by its"):
        project_token(tmp_path)
    os.chmod(path, 0o600)
    path.write_text("short\n")
    with pytest.raises(ConfigError, match=r"holds 5 characters; allowed: one token of at least 16"):
        project_token(tmp_path)
