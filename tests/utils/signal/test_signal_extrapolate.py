"""Autoregressive extrapolation against independent computations: Yule-Walker equations solved
with scipy, exact continuations of sinusoids, and a known AR(2) process."""

import numpy as np
import pytest
from scipy import linalg, signal

from deepclean.utils.signal.extrapolate import burg_coefficients, extrapolate

FS = 4096.0


def yule_walker(x: np.ndarray, order: int) -> np.ndarray:
    """Prediction-error filter from the biased autocorrelation (Toeplitz solve), same sign
    convention as :func:`burg_coefficients`."""
    r = np.correlate(x, x, "full")[x.size - 1 : x.size + order] / x.size
    return -linalg.solve_toeplitz(r[:order], r[1 : order + 1])


def test_burg_recovers_a_known_ar2_process_and_agrees_with_yule_walker():
    rng = np.random.default_rng(0)
    a_true = np.array([-1.6, 0.8])  # poles at radius sqrt(0.8)
    x = signal.lfilter([1.0], np.r_[1.0, a_true], rng.normal(size=200_000))
    a = burg_coefficients(x, 2)
    np.testing.assert_allclose(a, a_true, atol=0.01)
    np.testing.assert_allclose(a, yule_walker(x, 2), atol=2e-3)
    # a higher order adds nothing: the extra coefficients vanish
    np.testing.assert_allclose(burg_coefficients(x, 6)[2:], 0.0, atol=0.01)


def test_extrapolate_continues_sinusoids():
    """Two sinusoids (mains and a neighbour) are an exact AR(4) process: the prediction from 2 s
    of data (order 64, as the cleaner uses) follows their continuation closely where the
    band-pass weighs it most (the first 0.1 s after the edge) and within a few percent after
    1 s (Burg's estimate damps the poles slightly on a finite record)."""
    t = np.arange(int(3 * FS)) / FS
    x = np.sin(2 * np.pi * 60 * t + 0.3) + 0.4 * np.sin(2 * np.pi * 61.5 * t + 1.1)
    fit = int(2 * FS)
    predicted = extrapolate(x[:fit], x.size - fit, order=64)
    assert predicted.shape == (x.size - fit,)
    error = np.abs(predicted - x[fit:]) / np.abs(x).max()
    assert error[: int(0.1 * FS)].max() < 1e-4
    assert error[: int(0.25 * FS)].max() < 1e-3
    assert error.max() < 0.05


def test_extrapolate_stays_bounded_on_noise():
    """On white noise the minimum-phase prediction decays instead of growing."""
    x = np.random.default_rng(1).normal(size=int(2 * FS))
    predicted = extrapolate(x, int(FS), order=64)
    assert np.all(np.isfinite(predicted)) and np.abs(predicted).max() <= 3 * x.std()
    assert np.abs(predicted[-100:]).max() < 0.1 * x.std()


def test_zero_record_predicts_zeros():
    np.testing.assert_array_equal(extrapolate(np.zeros(100), 10, order=4), np.zeros(10))


@pytest.mark.parametrize(
    "x, samples, order, message",
    [
        (np.zeros(10), 5, 10, r"autoregressive order 10 for a record of shape \(10,\)"),
        (np.zeros(10), 5, 0, r"autoregressive order 0 for a record of shape \(10,\)"),
        (np.zeros((2, 10)), 5, 2, r"autoregressive order 2 for a record of shape \(2, 10\)"),
        (np.zeros(10), -1, 2, r"samples to extrapolate is -1; it must be >= 0"),
    ],
    ids=["order-too-high", "order-zero", "not-1d", "negative-samples"],
)
def test_bad_input(x, samples, order, message):
    with pytest.raises(ValueError, match=message):
        extrapolate(x, samples, order)
