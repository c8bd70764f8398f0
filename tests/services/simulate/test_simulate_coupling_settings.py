"""Settings of the simulator's harmonic coupling and coupling changes: defaults, flags, errors."""

import pytest

from deepclean.services.simulate.loop import detector_config
from deepclean.services.simulate.settings import SimulateSettings
from deepclean.utils.config import load_settings
from deepclean.utils.errors import ConfigError
from deepclean.utils.simulation.drift import Drift
from deepclean.utils.simulation.harmonics import DEMO_HARMONICS


def load(cli=None, environ=None) -> SimulateSettings:
    return load_settings(
        SimulateSettings, cli or {}, environ=environ or {}, pyproject=None, env_file=None
    )


def test_defaults_harmonics_on_and_no_change_in_time() -> None:
    config = detector_config(load())
    assert config.harmonics == DEMO_HARMONICS
    assert config.drift == Drift() and not config.drift.changes_coupling
    assert detector_config(load({"harmonics": False})).harmonics == ()


def test_flags_and_environment_build_the_drift() -> None:
    s = load(
        {
            "step_gps": "1400003600",
            "step_witness": "ASC-DHARD_P_OUT_DQ",
            "sideband_witness": "ASC-MICH_Y_OUT_DQ",
            "line_shift": "0.05",
        },
        {"DEEPCLEAN_SIMULATE_DRIFT_DEPTH": "0.3", "DEEPCLEAN_SIMULATE_DRIFT_PERIOD": "7200"},
    )
    assert detector_config(s).drift == Drift(
        depth=0.3,
        period_s=7200.0,
        step_gps=1400003600,
        step_witness="ASC-DHARD_P_OUT_DQ",
        step_factor=2.0,
        sideband_witness="ASC-MICH_Y_OUT_DQ",
        sideband_weight=0.5,
        line_shift_hz=0.05,
    )


@pytest.mark.parametrize(
    ("cli", "match"),
    [
        ({"drift_depth": "1.5"}, "setting drift_depth = '1.5' .*less than 1"),
        ({"line_shift": "0.3"}, "setting line_shift = '0.3' .*less than or equal to 0.2"),
        ({"step_witness": "ASC-DHARD_P_OUT_DQ"}, "needs step_gps"),
        (
            {"step_gps": "100", "step_witness": "ASC-MICH_P_OUT_DQ"},
            "step witness ASC-MICH_P_OUT_DQ is not a coupled witness",
        ),
        (
            {"step_gps": "100", "sideband_witness": "ASC-NOPE_P_OUT_DQ"},
            "sideband witness ASC-NOPE_P_OUT_DQ is not an ASC witness",
        ),
    ],
    ids=["depth", "shift", "no-gps", "step-uncoupled", "sideband-unknown"],
)
def test_bad_values_name_the_setting(cli, match) -> None:
    with pytest.raises(ConfigError, match=match):
        load(cli)
