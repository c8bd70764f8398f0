"""The production watch: consecutive checks above max_ratio make a rollback due."""

import pytest

from deepclean.utils.monitoring.rollback import ProductionWatch


def test_failures_in_a_row_per_version() -> None:
    watch = ProductionWatch(failures_needed=3, max_ratio=1.0)
    ratios = [1.2, 1.0, 1.5, 1.1, 0.9, 1.3, 1.3]  # 1.0 is at the limit: a pass
    got = [(c.failures, c.due) for c in (watch.check(g, 2, r) for g, r in enumerate(ratios))]
    assert got == [
        (1, False),
        (0, False),
        (1, False),
        (2, False),
        (0, False),
        (1, False),
        (2, False),
    ]
    assert watch.check(7, 2, 2.0).due
    assert watch.check(8, 3, 2.0).failures == 1  # another production starts from zero
    watch.rolled_back(2)  # not the one watched: nothing changes
    assert watch.to_json() == {"production": 3, "failures": 1}
    watch.rolled_back(3)
    assert watch.to_json() == {"production": None, "failures": 0}
    again = ProductionWatch(3, 1.0)
    again.restore({"production": 3, "failures": 2})
    assert again.check(9, 3, 1.01).due


def test_evidence_and_bad_thresholds() -> None:
    check = ProductionWatch(1, 0.8).check(100, 4, 0.9)
    assert check.due and check.evidence() == {
        "gps": 100,
        "production_ratio": 0.9,
        "max_ratio": 0.8,
        "failures_in_a_row": 1,
    }
    assert check.describe() == (
        "production 4 at GPS 100: production/raw 0.9000 > max_ratio 0.8, 1/1 failure(s) in a row"
    )
    with pytest.raises(ValueError, match="failures 0 must be at least 1 and max_ratio 1.0 > 0"):
        ProductionWatch(0, 1.0)
