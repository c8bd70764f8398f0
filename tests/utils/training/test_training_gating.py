import numpy as np
import pytest

from deepclean.utils.training.gating import (
    ready_segments,
    split_segments,
    total_samples,
    window_starts,
)


def _segments_by_loop(mask, min_samples):
    out, start = [], None
    for i, value in enumerate(list(mask) + [False]):
        if value and start is None:
            start = i
        elif not value and start is not None:
            if i - start >= min_samples:
                out.append((start, i))
            start = None
    return out


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["a", "b", "c"])
@pytest.mark.parametrize("min_samples", [1, 5], ids=["all", "min5"])
def test_ready_segments_match_direct_loop(seed, min_samples):
    mask = np.random.default_rng(seed).random(200) > 0.2
    assert ready_segments(mask, min_samples) == _segments_by_loop(mask, min_samples)


@pytest.mark.parametrize(
    "mask, expected",
    [([True] * 5, [(0, 5)]), ([False] * 5, []), ([True, False, True], [(0, 1), (2, 3)])],
    ids=["all-ready", "none-ready", "alternating"],
)
def test_ready_segments_edges(mask, expected):
    assert ready_segments(np.array(mask)) == expected


def test_split_takes_last_fraction_and_cuts_a_segment():
    train, valid = split_segments([(0, 100), (150, 250), (300, 400)], 0.25)
    assert valid == [(325, 400)]
    assert train == [(0, 100), (150, 250), (300, 325)]


def test_split_across_segments():
    train, valid = split_segments([(0, 100), (200, 220)], 0.5)
    assert total_samples(valid) == 60
    assert valid == [(60, 100), (200, 220)] and train == [(0, 60)]


def test_split_without_validation():
    assert split_segments([(0, 10)], 0.0) == ([(0, 10)], [])


def test_split_bad_fraction():
    with pytest.raises(ValueError, match="valid_frac is 1.0; it must lie in"):
        split_segments([(0, 10)], 1.0)


def test_windows_never_cross_gaps():
    segments = [(0, 100), (120, 150), (200, 260)]
    starts = window_starts(segments, kernel_size=32, stride=16)
    for s in starts:
        assert any(a <= s and s + 32 <= b for a, b in segments)
    assert list(starts) == [0, 16, 32, 48, 64, 200, 216]
