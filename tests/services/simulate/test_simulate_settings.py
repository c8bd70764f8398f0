"""Settings of deepclean simulate: defaults, witness lists, errors naming the setting."""

from pathlib import Path

import pytest

from deepclean.services.simulate.settings import SimulateSettings, parse_span
from deepclean.utils.config import load_settings
from deepclean.utils.errors import ConfigError
from deepclean.utils.simulation import channels as ch


def load(cli=None, environ=None) -> SimulateSettings:
    return load_settings(
        SimulateSettings, cli or {}, environ=environ or {}, pyproject=None, env_file=None
    )


def test_defaults() -> None:
    s = load()
    assert s.start == "now" and s.duration is None and not s.backfill and s.truth
    assert s.line_frequency == 60.0 and s.speed == 1.0
    assert s.witness_names() == ch.default_witnesses("H1") and len(s.witness_names()) == 21


def test_flags_and_environment() -> None:
    s = load(
        {"start": "1400000000", "duration": "60", "ifo": "L1"},
        {"DEEPCLEAN_SIMULATE_SEED": "7", "DATA_DIR": "/tmp/x"},
    )
    assert (
        s.start == 1400000000 and s.duration == 60 and s.seed == 7 and s.data_dir == Path("/tmp/x")
    )
    assert len(s.witness_names()) == 18


def test_num_witnesses_keeps_mains_and_coupled() -> None:
    s = load({"num_witnesses": 7})
    names = s.witness_names()
    assert len(names) == 7 and ch.MAINS in names and set(ch.DEFAULT_COUPLINGS) <= set(names)
    assert len(load({"num_witnesses": 25}).witness_names()) == 25


@pytest.mark.parametrize(
    "cli, match",
    [
        ({"duration": "-5"}, r"setting duration = '-5' \(from command line --duration\)"),
        ({"start": "yesterday"}, "setting start = 'yesterday'"),
        ({"drop_rate": "1.5"}, "setting drop_rate = '1.5'"),
        ({"coupling_weights": ["1.0"]}, "coupled_witnesses has 5 name"),
        (
            {"coupled_witnesses": ["ASC-FOO_P_OUT_DQ"], "coupling_weights": ["1"]},
            "ASC-FOO_P_OUT_DQ needed for the coupling",
        ),
        ({"witnesses": ["ASC-MICH_P_OUT_DQ"]}, "PEM-CS_MAINSMON_EBAY_1_DQ"),
        ({"num_witnesses": "3"}, "number of witnesses 3 is too small"),
        ({"not_ready_spans": ["10-5"]}, "span '10-5' is not START-END"),
        ({"line_frequency": "500"}, "setting line_frequency = '500'"),
        ({"partial_pieces": "1"}, "setting partial_pieces = '1'"),
    ],
    ids=[
        "negative-duration",
        "bad-start",
        "drop-rate",
        "weights-length",
        "unknown-coupled",
        "no-mains",
        "too-few",
        "span",
        "line",
        "pieces",
    ],
)
def test_bad_values_name_the_setting(cli, match) -> None:
    with pytest.raises(ConfigError, match=match):
        load(cli)


def test_parse_span() -> None:
    assert parse_span("1400000010-1400000012.5") == (1400000010.0, 1400000012.5)
