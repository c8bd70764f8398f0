"""Per-sequence state of the python-backend models (pure Python, runs without Triton)."""

import itertools

import pytest

from deepclean.utils.triton.backend.sequences import SequenceError, SequenceStates


def make_states(capacity: int = 2) -> SequenceStates[list]:
    counter = itertools.count()
    return SequenceStates(lambda: [next(counter)], capacity=capacity)


def test_start_makes_fresh_state_and_later_requests_share_it() -> None:
    states = make_states()
    first = states.get(7, start=True)
    assert states.get(7, start=False) is first
    restarted = states.get(7, start=True)
    assert restarted is not first and restarted[0] == first[0] + 1


def test_interleaved_sequences_keep_separate_state() -> None:
    states = make_states()
    a, b = states.get(1, start=True), states.get(2, start=True)
    assert states.get(1, start=False) is a and states.get(2, start=False) is b
    assert len(states) == 2


def test_unknown_sequence_without_start_is_refused() -> None:
    states = make_states()
    with pytest.raises(
        SequenceError, match="sequence 5 has no state.*restart it with the sequence start flag"
    ):
        states.get(5, start=False)


def test_end_forgets_the_sequence() -> None:
    states = make_states()
    states.get(3, start=True)
    states.end(3)
    assert 3 not in states
    states.end(3)  # ending twice is harmless


def test_full_table_drops_least_recently_used() -> None:
    states = make_states(capacity=2)
    states.get(1, start=True)
    states.get(2, start=True)
    states.get(1, start=False)  # 1 is now the most recently used
    states.get(3, start=True)
    assert 2 not in states and 1 in states and 3 in states


@pytest.mark.parametrize("capacity", [0, -1], ids=["zero", "negative"])
def test_capacity_must_be_positive(capacity: int) -> None:
    with pytest.raises(ValueError, match=f"capacity must be >= 1 sequence, got {capacity}"):
        SequenceStates(list, capacity=capacity)
