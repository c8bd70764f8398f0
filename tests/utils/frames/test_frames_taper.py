"""Dropped-frame tapers and zero fill against a direct np.hanning computation."""

import numpy as np
import pytest

from deepclean.utils.frames.taper import fill_gaps, rising_half_hann, taper_samples

N = 64  # samples per second in these tests


def _direct(pattern: str, taper: int) -> tuple[np.ndarray, list[bool]]:
    """Each second of ones ('x') or dropped ('.'), one sample at a time from np.hanning: a dropped
    second after data fades out (the mirror of the data before it under the falling half),
    data after a dropped second are tapered in; data before a drop are never touched."""
    window = np.hanning(2 * taper)
    out, touched = [], []
    for i, c in enumerate(pattern):
        second = np.zeros(N) if c == "." else np.ones(N)
        flag = c == "."
        if c == "." and i > 0 and pattern[i - 1] != ".":
            previous = out[-1]
            for k in range(taper):
                second[k] = previous[N - 1 - k] * window[taper + k]
        if c == "x" and i > 0 and pattern[i - 1] == ".":
            for k in range(taper):
                second[k] *= window[k]
            flag = True
        out.append(second)
        touched.append(flag)
    return np.concatenate(out), touched


PATTERNS = ["xxxx", "xx.xx", "x.x.x", "..xx", "xx..", "x...x", "."]


@pytest.mark.parametrize("taper", [N, N // 4, 1], ids=["1s", "quarter", "one-sample"])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_fill_gaps_matches_direct_hann_computation(pattern: str, taper: int) -> None:
    seconds = [None if c == "." else np.ones(N) for c in pattern]
    data, touched = fill_gaps(seconds, N, taper)
    expected, expected_touched = _direct(pattern, taper)
    np.testing.assert_allclose(data, expected, rtol=0, atol=1e-15)
    assert touched.tolist() == expected_touched


def test_shape_of_the_taper() -> None:
    rising = rising_half_hann(N)
    assert rising[0] == 0 and np.all(np.diff(rising) > 0) and rising[-1] > 0.999
    ramp = np.arange(N, dtype=float)
    data, _ = fill_gaps([ramp, None, np.full(N, 2.0)], N, N)
    np.testing.assert_array_equal(data[:N], ramp)  # the data before a drop stay as they came
    np.testing.assert_array_equal(data[N : 2 * N], ramp[::-1] * rising[::-1])  # mirrored, fading
    assert data[N] == pytest.approx(ramp[-1], rel=1e-3)  # continuous across the gap's edge
    np.testing.assert_array_equal(data[2 * N :], 2.0 * rising)


def test_errors_and_units() -> None:
    assert taper_samples(1.0, 4096) == 4096 and taper_samples(0.25, 16) == 4
    with pytest.raises(ValueError, match=r"taper length 1.5 s must be in \(0, 1\]"):
        taper_samples(1.5, 4096)
    with pytest.raises(ValueError, match="taper 65 samples must be within one second"):
        fill_gaps([np.ones(N)], N, N + 1)
    with pytest.raises(ValueError, match=r"second 1 holds \(63,\) samples, expected \(64,\)"):
        fill_gaps([np.ones(N), np.ones(N - 1)], N, 8)
