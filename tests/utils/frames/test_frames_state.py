"""Analysis-ready decoding of the state vector, against a direct per-sample loop."""

import numpy as np
import pytest

from deepclean.utils.frames.state import fully_ready, ready_mask, ready_seconds, upsample_mask


def _direct(values) -> list[bool]:
    return [bool(int(v) & 1) and bool(int(v) & 2) for v in values]


@pytest.mark.parametrize(
    "dtype",
    ["uint32", "int32", "int64", "float64"],
    ids=["uint32", "int32", "int64", "float-holding-ints"],
)
def test_ready_mask_matches_bitwise_definition(dtype: str) -> None:
    values = np.array(
        [0, 1, 2, 3, 4, 7, 11, 12, 15, 0xFFFF, 0x10003, 0x10001, 2**31 - 1], dtype=dtype
    )
    assert ready_mask(values).tolist() == _direct(values)


def test_per_second_and_whole_frame_flags() -> None:
    state = np.full(16 * 4, 3, dtype=np.uint32)
    state[16 + 5] = 1  # second 1 loses bit 1 for 1/16 s
    state[48:] = 7  # extra bits do not matter
    assert ready_seconds(state).tolist() == [True, False, True, True]
    assert fully_ready(state[:16]) and not fully_ready(state[16:32])
    assert not fully_ready(np.array([], dtype=np.uint32))
    assert upsample_mask(ready_mask(state[:32]), 16, 4096).tolist() == [True] * 4096 + [
        i // 256 != 5 for i in range(4096)
    ]


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (np.array([3.5]), "non-integer"),
        (np.array([np.nan]), "non-finite"),
        (np.array(["3"]), "not an integer"),
    ],
    ids=["fraction", "nan", "string"],
)
def test_undecodable_state_vectors(state: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ready_mask(state)


def test_ready_seconds_needs_whole_seconds() -> None:
    with pytest.raises(ValueError, match="17 samples does not cover whole seconds at 16.0 Hz"):
        ready_seconds(np.full(17, 3))
    with pytest.raises(ValueError, match="need an integer factor"):
        upsample_mask(np.ones(4, bool), 16, 24)
