"""The BNS-range gate of a promotion, and the veto it puts on a canary check."""

import pytest

from deepclean.utils.monitoring.decision import CanaryTracker, Thresholds, Verdict
from deepclean.utils.monitoring.range_gate import SegmentRanges, range_veto


@pytest.mark.parametrize(
    ("raw", "production", "canary", "veto"),
    [
        (70.0, 71.0, 71.0, None),
        (70.0, 71.0, 70.4, None),  # within 1 % of production, above raw
        (70.0, 71.0, 70.2, "< production 71.00 x (1 - 0.01) = 70.29 Mpc"),
        (70.0, 69.0, 69.9, "canary BNS range 69.90 Mpc < raw 70.00 Mpc"),
    ],
    ids=["better", "within-tolerance", "worse-than-production", "worse-than-raw"],
)
def test_range_veto(raw, production, canary, veto):
    got = range_veto(SegmentRanges(1, raw, production, canary, production), 0.01)
    if veto is None:
        assert got is None
    else:
        assert veto in got


def test_a_vetoed_check_fails_and_counts_towards_rejection():
    tracker = CanaryTracker(Thresholds(passes=2, failures=2))
    first = tracker.check(10, 1, 2, 0.3, 0.5, veto="canary BNS range 60 < raw 70")
    assert first.verdict is Verdict.FAIL
    assert first.reason == "canary BNS range 60 < raw 70"
    assert tracker.check(20, 1, 2, 0.3, 0.5).verdict is Verdict.PASS  # no veto: passes again
    tracker.check(30, 1, 2, 0.3, 0.5, veto="range")
    assert tracker.check(40, 1, 2, 0.3, 0.5, veto="range").verdict is Verdict.REJECT


def test_negative_tolerance_is_refused():
    with pytest.raises(ValueError, match="range tolerance -0.1 must be >= 0"):
        range_veto(SegmentRanges(1, 1.0, 1.0, 1.0, 1.0), -0.1)
