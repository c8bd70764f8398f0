import argparse
from pathlib import Path

import pytest

from deepclean.utils.config import load_settings
from deepclean.utils.config.layers import _REPO_PYPROJECT
from deepclean.utils.errors import ConfigError
from deepclean.utils.training.settings import (
    Profile,
    TrainingSettings,
    chosen_profile,
    profile_overrides,
    read_profile,
)

PYPROJECT = """
[tool.deepclean]
ifo = "H1"

[tool.deepclean.train]
lr = 5e-4

[tool.deepclean.profiles.cpu]
kernel_length = 4.0
lr = 2e-3
train_duration = 1024

[tool.deepclean.profiles.production]
kernel_length = 8.0
"""


@pytest.fixture
def pyproject(tmp_path) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(PYPROJECT)
    return path


def _load(pyproject, profile, cli=None, environ=None):
    return load_settings(
        TrainingSettings,
        cli or {},
        environ=environ or {},
        pyproject=pyproject,
        env_file=None,
        overrides=profile_overrides(profile, TrainingSettings, pyproject),
    )


def test_profile_sits_between_tables_and_environment(pyproject):
    settings = _load(pyproject, "cpu")
    assert (
        settings.kernel_length == 4.0 and settings.lr == 2e-3
    )  # profile beats [tool.deepclean.train]
    assert (
        _load(pyproject, "cpu", environ={"DEEPCLEAN_TRAIN_LR": "1e-4"}).lr == 1e-4
    )  # env beats profile
    assert _load(pyproject, "cpu", cli={"lr": 3e-4}).lr == 3e-4  # flags beat everything
    assert _load(pyproject, "production").lr == 5e-4  # no lr in that profile: the service table


def test_filter_bands(pyproject):
    settings = _load(pyproject, "cpu", cli={"band_margin": 1.5})
    assert settings.bands == [(58.0, 62.0)] and settings.filter_bands == [(56.5, 63.5)]


def test_profile_keeps_only_the_fields_of_the_settings(pyproject):
    assert "train_duration" in read_profile("cpu", pyproject)
    assert "train_duration" not in profile_overrides("cpu", TrainingSettings, pyproject)


def test_missing_profile_table(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.deepclean]\n")
    with pytest.raises(
        ConfigError, match=r"profile 'cpu' has no table \[tool.deepclean.profiles.cpu\]"
    ):
        read_profile("cpu", path)


@pytest.mark.parametrize(
    "flag, env, expected",
    [
        ("production", {}, Profile.PRODUCTION),
        (None, {"DEEPCLEAN_PROFILE": "production"}, Profile.PRODUCTION),
        (None, {}, Profile.CPU),
    ],
    ids=["flag", "environment", "no-gpu-default"],
)
def test_chosen_profile(flag, env, expected):
    assert chosen_profile(argparse.Namespace(profile=flag), env) == expected


def test_bad_profile_from_environment():
    with pytest.raises(
        ConfigError, match=r"profile 'gpu' \(from \$DEEPCLEAN_PROFILE\) is not allowed"
    ):
        chosen_profile(argparse.Namespace(profile=None), {"DEEPCLEAN_PROFILE": "gpu"})


@pytest.mark.parametrize(
    "values, match",
    [
        ({"overlap": 2.0}, "overlap 2.0 s must be shorter than fftlength"),
        ({"kernel_length": 1.0}, "must not exceed kernel_length"),
        ({"num_threads": 4}, "num_threads"),
        (
            {"band_margin": 3.0, "freq_low": [50.0, 60.0], "freq_high": [55.0, 70.0]},
            r"bands 47.0-58.0 Hz and 57.0-73.0 Hz overlap",
        ),
    ],
    ids=["overlap", "fft-longer-than-kernel", "threads", "margin-overlap"],
)
def test_invalid_settings(pyproject, values, match):
    with pytest.raises(ConfigError, match=match):
        _load(pyproject, "cpu", cli=values)


def test_repository_profiles():
    """The anchor's production values; a cpu profile that fits a 2-core machine."""
    production = read_profile("production", _REPO_PYPROJECT)
    assert production["kernel_length"] == 8.0 and production["kernel_stride"] == 0.0625
    assert (
        production["batch_size"] == 256
        and production["lr"] == 1e-3
        and production["max_epochs"] == 50
    )
    assert production["train_duration"] == 4096 and production["inference_sampling_rate"] == 512
    cpu = read_profile("cpu", _REPO_PYPROJECT)
    assert cpu["train_duration"] <= 1024 and cpu["max_train_seconds"] <= 600
    for name in (Profile.PRODUCTION, Profile.CPU):
        load_settings(
            TrainingSettings,
            {},
            environ={},
            pyproject=_REPO_PYPROJECT,
            env_file=None,
            overrides=profile_overrides(name, TrainingSettings, _REPO_PYPROJECT),
        )
