"""The stream mode and lag a client reads from the served ensemble config (no server needed)."""

from __future__ import annotations

import pytest

from deepclean.utils.export.config import encode_parameter
from deepclean.utils.streaming import StreamMode
from deepclean.utils.triton.ensemble import _ensemble_parameters
from deepclean.utils.triton.names import STREAM_MODE, Role, prediction_tensor
from deepclean.utils.triton.served import ServedConfigError, parse_served
from deepclean.utils.triton.spec import StreamSpec

CHANNELS = ("H1:S", "H1:A", "H1:B")


def _served_json(parameters: dict) -> dict:
    """An ensemble config as ``get_model_config(..., as_json=True)`` returns it."""
    steps = [{"model_name": "snapshotter", "model_version": "1"}] + [
        {
            "model_name": "deepclean",
            "model_version": str(version),
            "output_map": {"noise": prediction_tensor(role)},
        }
        for version, role in ((3, Role.PRODUCTION), (4, Role.CANARY))
    ]
    return {
        "config": {
            "name": "deepclean-stream",
            "ensemble_scheduling": {"step": steps},
            "parameters": {k: {"string_value": encode_parameter(v)} for k, v in parameters.items()},
        }
    }


@pytest.mark.parametrize("mode", list(StreamMode), ids=lambda m: m.value)
def test_the_exported_stream_mode_is_the_one_read(mode: StreamMode) -> None:
    """The parameters the exporter writes (stride 8 samples, 0.5 s averaged): its geometry."""
    spec = StreamSpec(
        channels=CHANNELS,
        sample_rate=4096,
        kernel_length=1.0,
        stride_length=1 / 512,
        batch_size=128,
        max_latencies=(0.5,),
        stream_mode=mode,
    )
    params = _ensemble_parameters(spec)
    assert params[STREAM_MODE] == mode.value
    served = parse_served(_served_json(params), None)
    assert served.geometry == spec.geometry() and served.geometry.mode is mode
    # the two modes' lags differ at this geometry: 104 samples contiguous, 2048 windowed
    assert (
        served.geometry.lag_samples == {StreamMode.CONTIGUOUS: 104, StreamMode.WINDOWED: 2048}[mode]
    )


def test_a_contiguous_stream_is_not_read_as_windowed() -> None:
    """max_latencies 0.5 s, which a windowed reading turns into a 2048-sample lag, is ignored."""
    params = {
        "channels": list(CHANNELS),
        "sample_rate": 4096,
        "kernel_length": 1.0,
        "stride_length": 1 / 512,
        "batch_size": 128,
        "max_latencies": [0.5],
        "lag_samples": [104],
        STREAM_MODE: "contiguous",
    }
    served = parse_served(_served_json(params), None)
    assert served.geometry.mode is StreamMode.CONTIGUOUS and served.geometry.lag_samples == 104
    assert served.geometry.model_batch == 2  # one stretch per phase, not 128 windows


def test_a_repository_without_a_stream_mode_is_windowed() -> None:
    params = {
        "channels": list(CHANNELS),
        "sample_rate": 4096,
        "kernel_length": 1.0,
        "stride_length": 1 / 32,
        "batch_size": 8,
        "max_latencies": [0.5],
    }
    served = parse_served(_served_json(params), None)
    assert served.geometry.mode is StreamMode.WINDOWED and served.geometry.lag_samples == 2048


def test_an_unknown_stream_mode_names_the_value() -> None:
    params = {
        "channels": list(CHANNELS),
        "sample_rate": 4096,
        "kernel_length": 1.0,
        "stride_length": 1 / 32,
        "batch_size": 8,
        "max_latencies": [0.5],
        STREAM_MODE: "sideways",
    }
    with pytest.raises(
        ServedConfigError,
        match=r"parameter stream_mode 'sideways' is not one of \['windowed', 'contiguous'\]",
    ):
        parse_served(_served_json(params), None)
