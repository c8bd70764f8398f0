"""Resampling accuracy against analytic sines, anti-aliasing, and argument errors."""

import numpy as np
import pytest
from scipy import signal

from deepclean.utils.frames.resample import edge_seconds, ratio, resample

RATES = [16384, 8192, 2048, 1024, 512, 256]


@pytest.mark.parametrize("rate", RATES, ids=[f"{r}Hz" for r in RATES])
def test_60hz_sine_amplitude_within_1e3_of_analytic(rate: int) -> None:
    """The issue's criterion: a 60 Hz sine resampled from a 3 s buffer, middle second, vs the
    analytic sine."""
    t_in = np.arange(3 * rate) / rate
    out = resample(np.sin(2 * np.pi * 60.0 * t_in + 0.4), rate, 4096)
    t_out = np.arange(3 * 4096) / 4096
    analytic = np.sin(2 * np.pi * 60.0 * t_out + 0.4)
    middle = slice(4096, 2 * 4096)
    assert (
        np.max(np.abs(out[middle] - analytic[middle])) < 1e-4
    )  # relative to the unit amplitude; spec 1e-3
    # the amplitude fitted over the middle second, as a second, independent look
    design = np.stack(
        [np.sin(2 * np.pi * 60 * t_out[middle]), np.cos(2 * np.pi * 60 * t_out[middle])], axis=1
    )
    coef, *_ = np.linalg.lstsq(design, out[middle], rcond=None)
    assert abs(np.hypot(*coef) - 1.0) < 1e-4


def test_slow_channel_upsampled_from_16hz() -> None:
    t_in = np.arange(3 * 16) / 16
    out = resample(np.sin(2 * np.pi * 3.0 * t_in), 16, 4096)
    t_out = np.arange(3 * 4096) / 4096
    middle = slice(4096, 2 * 4096)
    assert np.max(np.abs(out[middle] - np.sin(2 * np.pi * 3.0 * t_out[middle]))) < 1e-3


def test_anti_aliasing_removes_tones_above_the_new_nyquist() -> None:
    rate = 16384
    t = np.arange(8 * rate) / rate
    alias = np.sin(2 * np.pi * 3000.0 * t)  # would fold to 1096 Hz at 4096 Hz without a low-pass
    out = resample(alias, rate, 4096)[4096:-4096]
    freqs, psd = signal.welch(out, fs=4096, nperseg=4096)
    reference = resample(np.sin(2 * np.pi * 1096.0 * t), rate, 4096)[4096:-4096]
    _, psd_ref = signal.welch(reference, fs=4096, nperseg=4096)
    k = np.argmin(np.abs(freqs - 1096))
    assert psd[k] < 1e-6 * psd_ref[k]  # >= 60 dB of rejection


def test_identity_lengths_and_ratios() -> None:
    x = np.arange(10.0)
    assert np.array_equal(resample(x, 4096, 4096), x)
    assert (
        ratio(16384, 4096) == (1, 4)
        and ratio(16, 4096) == (256, 1)
        and ratio(3000, 4096) == (512, 375)
    )
    assert resample(np.zeros((3, 2 * 512)), 512, 4096).shape == (3, 2 * 4096)
    assert edge_seconds(16, 4096) == pytest.approx(0.625) and edge_seconds(4096, 4096) == 0


@pytest.mark.parametrize(
    ("n", "rate_in", "rate_out", "message"),
    [
        (100, 16384.5, 4096, r"input sample rate 16384.5 Hz is not a positive whole number"),
        (100, 16384, 0, r"output sample rate 0 Hz is not a positive whole number"),
        (6, 16384, 4096, r"6 samples at 16384 Hz do not make a whole number of samples at 4096 Hz"),
    ],
    ids=["fractional-rate", "zero-rate", "partial-sample"],
)
def test_errors(n: int, rate_in: float, rate_out: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resample(np.zeros(n), rate_in, rate_out)
