"""The decision state machine: passes promote, failures reject, skips count for nothing."""

import pytest

from deepclean.utils.monitoring.decision import CanaryTracker, Decision, Thresholds, Verdict


def run(tracker, ratios, production=1, canary=2, production_ratio=0.5):
    out = []
    for i, ratio in enumerate(ratios):
        if ratio is None:
            out.append(tracker.skip(i, production, canary, "missing").verdict)
        else:
            out.append(tracker.check(i, production, canary, ratio, production_ratio).verdict)
    return out


P, F, S, PR, RJ = Verdict.PASS, Verdict.FAIL, Verdict.SKIP, Verdict.PROMOTE, Verdict.REJECT


@pytest.mark.parametrize(
    "ratios,production_ratio,want",
    [
        ([0.4, 0.4, 0.4], 0.5, [P, P, PR]),
        ([0.4, None, 0.4, 0.4], 0.5, [P, S, P, PR]),
        ([0.4, 0.6, 0.4, 0.4, 0.4], 0.5, [P, F, P, P, PR]),
        ([0.51, 0.51, 0.51], 0.5, [P, P, PR]),  # within 2 % of production
        ([0.52, 0.52, 0.52], 0.5, [F, F, RJ]),  # beats raw, worse than production by > 2 %
        ([1.1, None, 1.1, 1.1], None, [F, S, F, RJ]),  # worse than raw
        ([0.99, 0.99, 0.99], None, [P, P, PR]),  # untrained production counts as raw (ratio 1)
        ([1.01, 1.01, 1.01], None, [F, F, RJ]),  # max_ratio 1 wins over the tolerance
    ],
    ids=[
        "promote",
        "skip-keeps-count",
        "fail-resets",
        "tolerance",
        "worse-than-production",
        "worse-than-raw",
        "untrained-production",
        "max-ratio",
    ],
)
def test_verdicts(ratios, production_ratio, want):
    tracker = CanaryTracker(Thresholds(passes=3, failures=3))
    assert run(tracker, ratios, production_ratio=production_ratio) == want


def test_rejected_canary_is_never_checked_again_and_a_newer_one_starts_afresh():
    tracker = CanaryTracker(Thresholds(passes=2, failures=2))
    assert run(tracker, [1.5, 1.5]) == [F, RJ]
    assert not tracker.should_check(1, 2)
    with pytest.raises(ValueError, match="canary 2 is not checked against production 1"):
        tracker.check(9, 1, 2, 0.1, 0.5)
    assert tracker.should_check(1, 3)
    assert run(tracker, [0.3, 0.3], canary=3) == [P, PR]


def test_promotion_repeats_until_done_and_new_canary_resets():
    tracker = CanaryTracker(Thresholds(passes=2, failures=2))
    assert run(tracker, [0.3, 0.3, 0.3]) == [P, PR, PR]  # promotion call failed: still due
    tracker.promoted(2)
    assert (tracker.canary, tracker.passes) == (None, 0)
    assert run(tracker, [0.3, 1.2], canary=3) == [P, F]
    assert not tracker.should_check(3, 3) and not tracker.should_check(4, 3)


def test_state_round_trip_and_description():
    tracker = CanaryTracker(Thresholds(passes=5, failures=2))
    run(tracker, [1.2, 1.2])
    run(tracker, [0.3], canary=3)
    again = CanaryTracker.from_json(tracker.thresholds, tracker.to_json())
    assert (again.canary, again.passes, again.failures, again.rejected) == (3, 1, 0, {2})
    decision = tracker.check(7, 1, 3, 0.25, None)
    assert Decision.from_json(decision.to_json()) == decision
    assert decision.describe() == (
        "canary 3 vs production 1 at GPS 7: pass (canary/raw 0.2500, production/raw n/a, "
        "2 pass(es), 0 failure(s) in a row; canary/raw <= 1.0000)"
    )


def test_thresholds_validated():
    with pytest.raises(ValueError, match="passes 0 and failures 1 must be at least 1"):
        Thresholds(passes=0, failures=1)


def test_a_canary_replaced_mid_judgement_is_said_and_the_new_one_starts_afresh():
    tracker = CanaryTracker(Thresholds(passes=3, failures=3))
    assert run(tracker, [0.3, 0.3]) == [P, P]
    decision = tracker.check(5, 1, 3, 0.3, 0.5)  # the trainer's next canary arrived
    assert (decision.verdict, decision.passes) == (P, 1)
    assert decision.reason.endswith("; replaced canary 2 after 2 pass(es) and 0 failure(s)")
    skipped = tracker.skip(6, 1, 4, "missing")
    assert skipped.reason == "missing; replaced canary 3 after 1 pass(es) and 0 failure(s)"
    assert tracker.skip(7, 1, 5, "missing").reason == "missing"  # 4 had no evidence
