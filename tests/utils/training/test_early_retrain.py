"""The early-retrain rule against hand-computed cases (flat, slow rise, step, too few checks,
the minimum gap, stale evidence)."""

import pytest

from deepclean.utils.monitoring.production_record import RatioCheck
from deepclean.utils.training.early_retrain import EarlyRetrainRule, early_retrain

RULE = EarlyRetrainRule(checks=3, tolerance=0.1, min_gap=100)
T0 = 1_400_000_000  #: GPS of the first check; checks every 64 s


def _checks(ratios: list[float]) -> list[RatioCheck]:
    return [RatioCheck(T0 + 64 * i, r) for i, r in enumerate(ratios)]


LAST_START = T0 + 64  #: the last run started after the second check


def test_flat_ratio_never_retrains():
    checks = _checks([0.30, 0.31, 0.29, 0.30, 0.31, 0.29, 0.30])
    evidence = early_retrain(checks, T0 + 1000, LAST_START, RULE)
    assert not evidence.due and "within the tolerance" in evidence.reason
    assert evidence.baseline == pytest.approx(0.30) and evidence.recent == pytest.approx(0.30)


def test_slow_rise_retrains_once_it_passes_the_tolerance():
    # +1 % of 0.30 per check: baseline mean(0.300, 0.303, 0.306) = 0.303
    ratios = [0.30 * (1 + 0.01 * i) for i in range(16)]
    for n in range(6, 17):
        evidence = early_retrain(_checks(ratios[:n]), T0 + 2000, LAST_START, RULE)
        # recent = 0.30 * (1 + 0.01 * (n - 2)); rise = (1 + 0.01 (n - 2)) / 1.01 - 1 > 0.1
        # when n - 2 > 11.1, i.e. n >= 14 (n = 13: +9.9 %, n = 14: +10.9 %)
        assert evidence.due == (n >= 14), (n, evidence)
    evidence = early_retrain(_checks(ratios[:15]), T0 + 2000, LAST_START, RULE)
    assert evidence.rise == pytest.approx(1.13 / 1.01 - 1)


def test_step_retrains_as_soon_as_the_recent_checks_see_it():
    ratios = [0.06] * 4 + [0.09] * 3  # the coupling doubled before the fifth check
    evidence = early_retrain(_checks(ratios), T0 + 1000, LAST_START, RULE)
    assert evidence.due and evidence.rise == pytest.approx(0.5)
    assert (evidence.baseline, evidence.recent) == (pytest.approx(0.06), pytest.approx(0.09))
    # one check earlier the latest three still hold a 0.06: (0.06 + 0.09 + 0.09) / 3 = 0.08,
    # +33 %, also due
    assert early_retrain(_checks(ratios[:6]), T0 + 1000, LAST_START, RULE).due
    small = [0.06] * 5 + [0.065]  # (0.06 + 0.06 + 0.065) / 3 = 0.06167: +2.8 %
    assert not early_retrain(_checks(small), T0 + 1000, LAST_START, RULE).due


def test_too_few_checks_never_retrain():
    evidence = early_retrain(_checks([0.06] * 3 + [0.6] * 2), T0 + 1000, LAST_START, RULE)
    assert not evidence.due and evidence.reason == "too few checks: 5 of 6"
    assert not early_retrain([], T0 + 1000, LAST_START, RULE).due


def test_not_before_the_minimum_gap():
    checks = _checks([0.06] * 3 + [0.09] * 3)  # due on the evidence
    evidence = early_retrain(checks, LAST_START + 99, LAST_START, RULE)
    assert (
        not evidence.due and "99 s since the last run started, < min_gap 100 s" in evidence.reason
    )
    assert early_retrain(checks, LAST_START + 100, LAST_START, RULE).due


def test_only_evidence_gathered_since_the_last_run_counts():
    checks = _checks([0.06] * 3 + [0.09] * 3)  # latest three at T0 + 192, 256, 320
    assert early_retrain(checks, T0 + 1000, T0 + 191, RULE).due
    stale = early_retrain(checks, T0 + 1000, T0 + 192, RULE)
    assert not stale.due and "older than the last run" in stale.reason
    assert not early_retrain(checks, T0 + 1000, None, RULE).due  # no run yet: the cadence starts


def test_bad_rule_is_refused():
    with pytest.raises(ValueError, match="need checks >= 1, tolerance > 0"):
        EarlyRetrainRule(checks=0, tolerance=0.1, min_gap=10)
