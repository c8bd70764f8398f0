"""The mains line: exact phase at large GPS times, wander limits, continuity, spectrum."""

from fractions import Fraction

import numpy as np
import pytest
from scipy import signal

from deepclean.utils.simulation.mains import MainsLine

GPS = 1_400_000_000


def _exact(line: MainsLine, gps: int, rate: int) -> np.ndarray:
    """The model evaluated sample by sample (no wander grid)."""
    offsets = np.arange(rate) / rate
    return line.envelope(gps, offsets) * np.sin(2 * np.pi * line.phase_cycles(gps, offsets))


@pytest.mark.parametrize("freq", [60.0, 50.0, 59.97], ids=["60Hz", "50Hz", "off-grid"])
def test_pure_line_phase_is_exact_at_large_gps(freq: float) -> None:
    line = MainsLine(frequency_hz=freq, amplitude=2.0)
    gps = GPS + 12345
    # reference: the phase in exact rational arithmetic, reduced modulo one cycle
    offsets = [Fraction(k, 1024) for k in range(0, 1024, 97)]
    expected = [2.0 * np.sin(2 * np.pi * float(Fraction(freq) * (gps + o) % 1)) for o in offsets]
    got = line.sample(gps, 1024)[::97]
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_seconds_join_and_grid_interpolation_is_tiny() -> None:
    line = MainsLine.from_seed(3)
    rate = 16384
    for gps in (GPS, GPS + 1, GPS + 500):
        np.testing.assert_allclose(
            line.sample(gps, rate), _exact(line, gps, rate), atol=1e-5 * line.amplitude
        )
    # the sample after the end of one second continues it smoothly into the next
    a, b = line.sample(GPS, rate), line.sample(GPS + 1, rate)
    jump = b[0] - a[-1]
    step = np.abs(np.diff(a)).max()
    assert abs(jump) <= step * 1.01


def test_witness_and_strain_rates_agree_at_common_times() -> None:
    line = MainsLine.from_seed(1)
    np.testing.assert_allclose(
        line.sample(GPS, 16384, 0.3)[::16], line.sample(GPS, 1024, 0.3), rtol=0, atol=1e-9
    )


def test_wander_stays_within_its_depths() -> None:
    line = MainsLine.from_seed(7, amplitude=100.0, amplitude_depth=0.05, frequency_depth_hz=0.004)
    t = np.arange(0, 3600, 0.5)
    freq = line.frequency(GPS, t)
    env = line.envelope(GPS, t)
    assert np.all(np.abs(freq - 60.0) <= 0.004 + 1e-12)
    assert np.ptp(freq) > 0.002  # it does wander, by a few mHz
    assert np.all(np.abs(env / 100.0 - 1) <= 0.05 + 1e-12)
    assert np.ptp(env) > 2.0


def test_spectrum_peaks_at_the_line() -> None:
    line = MainsLine.from_seed(0, frequency_hz=50.0)
    x = np.concatenate([line.sample(GPS + k, 1024) for k in range(64)])
    freqs, psd = signal.welch(x, fs=1024, nperseg=8 * 1024)
    assert freqs[np.argmax(psd)] == pytest.approx(50.0, abs=0.125)


def test_determinism_and_seed_dependence() -> None:
    assert MainsLine.from_seed(5) == MainsLine.from_seed(5)
    assert MainsLine.from_seed(5) != MainsLine.from_seed(6)
    with pytest.raises(ValueError, match="mains frequency -1.0 Hz"):
        MainsLine.from_seed(0, frequency_hz=-1.0)
