"""Which seconds a check may use, from state-vector bits and version channels."""

import numpy as np
import pytest

from deepclean.utils.monitoring.segment import (
    REQUIRED_BITS,
    SecondSummary,
    SkipReason,
    check_segment,
    summarize_second,
)
from deepclean.utils.products import StateBit

GOOD = int(REQUIRED_BITS | StateBit.OUT_DQ_CLEANED | StateBit.WITNESSES_PRESENT)


def second(gps, state=GOOD, production=1, canary=2):
    full = lambda v: np.full(16, v, dtype=np.int32)  # noqa: E731
    return summarize_second(
        gps, full(state) if np.isscalar(state) else state, full(production), full(canary)
    )


@pytest.mark.parametrize(
    "state,problem",
    [
        (GOOD, None),
        (GOOD | StateBit.TAPERED, SkipReason.TAPERED),
        (GOOD & ~StateBit.INPUT_READY, SkipReason.NOT_READY),
        (GOOD & ~StateBit.CANARY_VALID, SkipReason.NOT_VALID),
        (GOOD & ~StateBit.PRODUCTION_VALID, SkipReason.NOT_VALID),
    ],
    ids=["good", "tapered", "not-ready", "canary-invalid", "production-invalid"],
)
def test_state_bits(state, problem):
    assert second(5, state).problem is problem


def test_one_bad_slice_spoils_the_second():
    state = np.full(16, GOOD, dtype=np.int32)
    state[7] |= StateBit.TAPERED
    assert second(5, state).problem is SkipReason.TAPERED


def test_version_change_within_a_second():
    versions = np.array([2] * 8 + [3] * 8, dtype=np.int32)
    summary = summarize_second(5, np.full(16, GOOD), np.full(16, 1), versions)
    assert summary == SecondSummary(5, 1, None, SkipReason.MIXED_VERSIONS)


def test_segment_usable_and_skips():
    seconds = {g: second(g) for g in range(100, 110)}
    assert check_segment(seconds, 110, 10, 1, 2).usable
    assert check_segment(seconds, 110, 10, 1, 3).reason is SkipReason.OTHER_VERSIONS
    missing = dict(seconds)
    del missing[104]
    result = check_segment(missing, 110, 10, 1, 2)
    assert (result.reason, result.count) == (SkipReason.MISSING, 1)
    assert result.describe() == "GPS 100-110: 1 s missing"
    unreadable = {**seconds, 103: None, 104: second(104, GOOD | StateBit.TAPERED)}
    assert check_segment(unreadable, 110, 10, 1, 2).reason is SkipReason.UNREADABLE
    assert check_segment(seconds, 111, 10, 1, 2).reason is SkipReason.MISSING
