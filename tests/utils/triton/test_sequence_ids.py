"""Sequence ids: unique per IFO, process and start, in Triton's (and tritonclient's int64) range."""

from __future__ import annotations

import pytest

from deepclean.utils.ifo import IFO
from deepclean.utils.triton.sequence_ids import (
    COUNTER_BITS,
    MAX_ID,
    SequenceIds,
    sequence_base,
    with_counter,
)

T = 1_700_000_000.0


def test_ids_of_two_ifos_two_pids_two_starts_differ() -> None:
    bases = {
        sequence_base(ifo, pid, t) for ifo in IFO for pid in (1, 7, 4_194_303) for t in (T, T + 1)
    }
    assert len(bases) == len(IFO) * 3 * 2


@pytest.mark.parametrize("ifo", list(IFO))
def test_ids_stay_positive_and_below_2_to_63(ifo: IFO) -> None:
    for pid in (0, 1, 4_194_303, 2**31 - 1):
        base = sequence_base(ifo, pid, 2**40)
        for count in (0, 1, (1 << COUNTER_BITS) - 1, 1 << COUNTER_BITS):
            value = with_counter(base, count)
            assert 1 <= value <= MAX_ID < 2**63


def test_the_counter_is_shared_by_the_process() -> None:
    a, b = SequenceIds("H1", pid=5, unix_seconds=T), SequenceIds("H1", pid=5, unix_seconds=T)
    ids = [a.next(), b.next(), a.next(), b.next()]
    assert len(set(ids)) == 4  # two clients of one process and one start second never collide
    assert all(i >> COUNTER_BITS == a.base >> COUNTER_BITS for i in ids)


def test_every_cleaner_used_to_start_at_the_same_id() -> None:
    """The finding: every process started at 1. Two pids of one start second now differ."""
    first = {SequenceIds("H1", pid=pid, unix_seconds=T).next() for pid in (100, 101)}
    assert len(first) == 2 and 1 not in first
