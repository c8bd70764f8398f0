"""Settings layering: flags > environment (.env) > service table > base table > defaults."""

import argparse
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import Field, PositiveFloat

from deepclean.utils.config import (
    SharedSettings,
    add_settings_flags,
    given_flags,
    load_settings,
    require,
)
from deepclean.utils.errors import ConfigError
from deepclean.utils.ifo import IFO


class DemoSettings(SharedSettings):
    service: ClassVar[str] = "demo"
    duration: PositiveFloat = Field(10.0, description="seconds of data")
    verbose: bool = Field(False, description="chatty output")


PYPROJECT = """
[tool.deepclean]
ifo = "L1"
sample_rate = 2048
data_dir = "/base/data"

[tool.deepclean.demo]
duration = 20
data_dir = "/demo/data"

[tool.deepclean.other]
duration = 99
"""


@pytest.fixture
def pyproject(tmp_path: Path) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(PYPROJECT)
    return path


def load(pyproject: Path, cli=None, environ=None, env_file=None) -> DemoSettings:
    return load_settings(
        DemoSettings, cli, environ=environ or {}, pyproject=pyproject, env_file=env_file
    )


def test_defaults_without_any_file() -> None:
    settings = load_settings(DemoSettings, {}, environ={}, pyproject=None, env_file=None)
    assert settings.ifo is IFO.H1 and settings.duration == 10.0 and settings.bands == [(58.0, 62.0)]


def test_tables_override_defaults(pyproject: Path) -> None:
    settings = load(pyproject)
    assert settings.ifo is IFO.L1
    assert settings.sample_rate == 2048
    assert settings.duration == 20  # service table
    assert settings.data_dir == Path("/demo/data")  # service table beats the base table


def test_environment_beats_tables_and_flags_beat_environment(
    pyproject: Path, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("IFO=H1\nDEEPCLEAN_DEMO_DURATION=30\n")
    settings = load(pyproject, env_file=env_file)
    assert settings.ifo is IFO.H1 and settings.duration == 30
    settings = load(pyproject, environ={"DEEPCLEAN_DEMO_DURATION": "40"}, env_file=env_file)
    assert settings.duration == 40  # the process environment beats .env
    settings = load(
        pyproject, cli={"duration": 50, "ifo": "L1"}, environ={"DEEPCLEAN_DEMO_DURATION": "40"}
    )
    assert settings.duration == 50 and settings.ifo is IFO.L1


def test_list_settings_from_environment(pyproject: Path) -> None:
    settings = load(pyproject, environ={"FREQ_LOW": "55,118", "FREQ_HIGH": "65 122"})
    assert settings.bands == [(55.0, 65.0), (118.0, 122.0)]


@pytest.mark.parametrize(
    ("cli", "environ", "match"),
    [
        pytest.param(
            {"duration": -1},
            {},
            r"setting duration = -1 \(from command line --duration\): .*greater than 0",
            id="negative-duration-flag",
        ),
        pytest.param(
            {},
            {"IFO": "X1"},
            r"setting ifo = 'X1' \(from environment variable IFO\): .*'H1'",
            id="unknown-ifo-env",
        ),
        pytest.param(
            {},
            {"DEEPCLEAN_DEMO_DURATION": "soon"},
            r"DEEPCLEAN_DEMO_DURATION.*valid number",
            id="not-a-number",
        ),
        pytest.param(
            {"freq_low": [58, 100]},
            {},
            r"freq_low has 2 band edge\(s\) and freq_high 1",
            id="band-count",
        ),
        pytest.param({"freq_low": [70]}, {}, r"band 70.0-62.0 Hz is not allowed", id="band-order"),
    ],
)
def test_errors_name_setting_value_and_source(pyproject: Path, cli, environ, match) -> None:
    with pytest.raises(ConfigError, match=match):
        load(pyproject, cli=cli, environ=environ)


def test_unknown_setting_in_service_table_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.deepclean.demo]\ndurration = 3\n")
    with pytest.raises(
        ConfigError, match=r"unknown setting 'durration' in \[tool.deepclean.demo\]"
    ):
        load(path)


def test_flags_only_carry_what_was_given() -> None:
    parser = argparse.ArgumentParser()
    add_settings_flags(parser, DemoSettings)
    args = parser.parse_args(["--duration", "5", "--freq-low", "55", "--verbose"])
    assert given_flags(args, DemoSettings) == {"duration": "5", "freq_low": ["55"], "verbose": True}
    help_text = parser.format_help()
    assert "--data-dir" in help_text and "seconds of data (default: 10.0)" in help_text


def test_require_names_every_missing_setting() -> None:
    class Needs(SharedSettings):
        service: ClassVar[str] = "needs"
        output_dir: Path | None = None
        channels: list[str] = []
        start: float | None = None

    settings = Needs(start=0.0)
    with pytest.raises(
        ConfigError,
        match=r"^setting output_dir is required: give --output-dir\n"
        r"setting channels is required: give --channels$",
    ):
        require(settings, ("output_dir", "channels", "start"))
