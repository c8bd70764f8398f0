"""Polyphase cubic-convolution upsampling against a direct loop and analytic signals."""

import numpy as np
import pytest

from deepclean.utils.simulation.interp import AFTER, BEFORE, cubic_weights, upsample


def _direct(samples: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Direct loop over Keys' kernel written out piecewise (a = -1/2)."""

    def kernel(x: float) -> float:
        x = abs(x)
        if x <= 1:
            return 1.5 * x**3 - 2.5 * x**2 + 1
        if x < 2:
            return -0.5 * x**3 + 2.5 * x**2 - 4 * x + 2
        return 0.0

    out = []
    for x in positions:
        base = int(np.floor(x))
        out.append(sum(samples[k] * kernel(x - k) for k in range(base - 1, base + 3)))
    return np.array(out)


@pytest.mark.parametrize("factor", [4, 32, 3], ids=["x4", "x32", "x3"])
def test_matches_direct_loop(factor: int) -> None:
    s = np.random.default_rng(0).normal(size=30)
    n = 30 - BEFORE - AFTER
    positions = BEFORE + np.arange(n * factor) / factor
    np.testing.assert_allclose(upsample(s, factor), _direct(s, positions), rtol=1e-12, atol=1e-12)


def test_reproduces_samples_and_quadratics() -> None:
    s = np.random.default_rng(1).normal(size=20)
    np.testing.assert_allclose(upsample(s, 8)[::8], s[BEFORE:-AFTER], rtol=1e-12)
    x = np.arange(20.0)
    quad = 0.3 * x**2 - 2 * x + 1
    fine = BEFORE + np.arange((20 - BEFORE - AFTER) * 8) / 8
    np.testing.assert_allclose(upsample(quad, 8), 0.3 * fine**2 - 2 * fine + 1, rtol=1e-11)
    np.testing.assert_allclose(cubic_weights(8).sum(axis=0), 1.0)


def test_slow_sine_is_interpolated_accurately() -> None:
    rate, factor, f = 512, 32, 2.0  # an ASC-like 2 Hz signal
    t = np.arange(-BEFORE, 2 * rate + AFTER) / rate
    out = upsample(np.sin(2 * np.pi * f * t), factor)
    fine = np.arange(2 * rate * factor) / (rate * factor)
    np.testing.assert_allclose(out, np.sin(2 * np.pi * f * fine), atol=3e-6)


def test_spans_join_seamlessly() -> None:
    s = np.random.default_rng(2).normal(size=100)
    whole = upsample(s, 4)
    first, second = upsample(s[: 50 + BEFORE + AFTER], 4), upsample(s[50:], 4)
    np.testing.assert_allclose(np.concatenate([first, second]), whole, rtol=1e-12)


def test_too_short_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="extended has 3 samples"):
        upsample(np.zeros(3), 4)
