"""Archive spans, gaps and carousel bookkeeping against direct enumeration."""

import pytest

from deepclean.utils.monitoring.spans import (
    carousel_victims,
    closed_spans,
    covered,
    retention_victims,
    runs,
    span_start,
    to_archive,
)


def test_runs_and_spans():
    assert runs([5, 3, 4, 9, 10, 12]) == [(3, 6), (9, 11), (12, 13)]
    assert span_start(1_400_000_130, 128) == 1_400_000_128 - 1_400_000_128 % 128
    assert covered([(10, 3), (20, 1)]) == {10, 11, 12, 20}
    assert closed_spans([0, 5, 130, 260], latest=256, cadence=128) == [0, 128]


@pytest.mark.parametrize(
    "present,archived,latest,want",
    [
        (range(0, 16), set(), 15, []),  # span [0, 16) with cadence 16 is closed once 16 is seen
        (range(0, 20), set(), 16, [(0, 16)]),
        ([*range(0, 5), *range(8, 20)], set(), 17, [(0, 5), (8, 16)]),  # a gap stays a gap
        (range(0, 40), set(range(0, 16)), 33, [(16, 32)]),
        (
            range(10, 40),
            {12},
            40,
            [(10, 12), (13, 16), (16, 32)],
        ),  # resume around an archived second
    ],
    ids=["open", "closed", "gap", "already-archived", "split"],
)
def test_to_archive(present, archived, latest, want):
    assert to_archive(list(present), archived, latest, 16) == want


def test_carousel_keeps_unarchived():
    present = list(range(100, 110))
    assert carousel_victims(present, 7) == [100, 101, 102]
    assert carousel_victims(present, 7, deletable={100, 105}) == [100, 105]
    assert carousel_victims(present, 20) == []


def test_retention_by_age_and_size():
    files = [(0, 128, 10), (128, 128, 10), (256, 100, 10), (384, 128, 10)]
    assert retention_victims(files, 600, max_age=300, max_bytes=None) == [
        0,
        128,
    ]  # ended at 128, 256 < 300
    assert retention_victims(files, 600, max_age=None, max_bytes=25) == [0, 128]
    assert retention_victims(files, 600, max_age=None, max_bytes=None) == []
    assert retention_victims(files, 600, max_age=350, max_bytes=15) == [0, 128, 256]
