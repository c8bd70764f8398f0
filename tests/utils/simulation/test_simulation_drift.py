"""Coupling that changes with time: the drift law, the step at its GPS, the shifting line.

Each check compares the simulated strain with an independent computation: the documented law
evaluated directly (``math.sin`` of exact integer arithmetic), or the same detector without
the change (the coupled noise is linear in the weights, so a doubled weight doubles it).
"""

import math

import numpy as np
import pytest
from scipy import signal

from deepclean.utils.simulation import channels as ch
from deepclean.utils.simulation.detector import DetectorConfig, SimulatedDetector, simulate
from deepclean.utils.simulation.drift import Drift, drift_phase

GPS = 1_400_000_000
FS = 16384
DHARD = "ASC-DHARD_P_OUT_DQ"
MICH = "ASC-MICH_P_OUT_DQ"
#: one coupled witness and no linear line: the coupled noise is g * m^(t) * w(t) * a(t)
ONE = dict(couplings=((DHARD, 1.0),), linear_amplitude=0.0)


def _coupled(config: DetectorConfig, start: int, n: int) -> list[np.ndarray]:
    det = SimulatedDetector(config, start)
    return [s.strain - s.background for s in (det.next() for _ in range(n))]


def test_weights_follow_the_documented_law() -> None:
    drift = Drift(depth=0.3, period_s=7200.0)
    offsets = np.arange(0, 1, 1 / 64)
    got = drift.weights(3, [DHARD, MICH], [1.0, 0.5], GPS + 1234, offsets)
    for row, (name, base) in enumerate([(DHARD, 1.0), (MICH, 0.5)]):
        phase = drift_phase(3, name)
        whole = (GPS + 1234) % 7200  # exact integer part of t mod period
        expected = [
            base * (1 + 0.3 * math.sin(2 * math.pi * (whole + o) / 7200 + phase)) for o in offsets
        ]
        np.testing.assert_allclose(got[row], expected, rtol=1e-9)


def test_slow_drift_scales_the_coupled_noise_sample_by_sample() -> None:
    """With one coupled witness the drifting noise / the constant one is 1 + depth sin(...)."""
    period, depth, start = 16, 0.5, GPS + 5
    drifting = _coupled(DetectorConfig(**ONE, drift=Drift(depth=depth, period_s=period)), start, 3)
    steady = _coupled(DetectorConfig(**ONE), start, 3)
    phase = drift_phase(0, DHARD)
    for k, (d, s) in enumerate(zip(drifting, steady)):
        t = ((start + k) % period + np.arange(FS) / FS) / period
        law = 1 + depth * np.sin(2 * np.pi * t + phase)
        np.testing.assert_allclose(d, law * s, rtol=1e-9, atol=1e-10 * np.abs(s).max())


def test_the_step_doubles_the_coupling_exactly_at_its_gps() -> None:
    step = GPS + 3
    config = DetectorConfig(**ONE, drift=Drift(step_gps=step, step_witness=DHARD))
    stepped = _coupled(config, GPS, 5)
    steady = _coupled(DetectorConfig(**ONE), GPS, 5)
    for k, (a, b) in enumerate(zip(stepped, steady)):
        factor = 2.0 if GPS + k >= step else 1.0
        np.testing.assert_allclose(
            a, factor * b, rtol=1e-9, atol=1e-10 * np.abs(b).max()
        )  # strain - bg rounding


def test_a_new_sideband_appears_at_the_step() -> None:
    """Before the step nothing changes; after it, the change is coherent with the product of
    the mains witness and the newly coupled witness, and not with the mains alone."""
    step, n = GPS + 4, 68
    drift = Drift(step_gps=step, sideband_witness=MICH, sideband_weight=1.0)
    with_sideband = simulate(DetectorConfig(drift=drift), GPS, n)
    without = simulate(DetectorConfig(), GPS, n)
    change = with_sideband.strain - without.strain
    scale = np.abs(without.strain - without.background).max()
    after = slice(4 * FS, None)
    assert np.abs(change[: 4 * FS]).max() < 1e-10 * scale  # rounding only
    assert np.std(change[after]) > 0.01 * scale
    mains = with_sideband.witnesses[f"H1:{ch.MAINS}"][4 * 1024 :]
    mich = np.repeat(with_sideband.witnesses[f"H1:{MICH}"][4 * 512 :], 2)
    change_1024 = signal.resample_poly(change[after], 1, 16)
    freqs, coh = signal.coherence(change_1024, mains * mich, fs=1024, nperseg=2048)
    _, coh_mains = signal.coherence(change_1024, mains, fs=1024, nperseg=2048)
    band = (freqs > 59) & (freqs < 61) & (np.abs(freqs - 60) > 0.2)
    assert np.mean(coh[band]) > 0.9
    assert np.mean(coh_mains[band]) < 0.1


def test_the_mains_frequency_shifts_by_the_documented_law() -> None:
    shift, period = 0.1, 40.0
    det = SimulatedDetector(
        DetectorConfig(drift=Drift(line_shift_hz=shift, line_shift_period_s=period)), GPS
    )
    base = SimulatedDetector(DetectorConfig(), GPS)
    offsets = np.linspace(0, 10, 11)
    phase = drift_phase(0, "mains frequency")
    expected = shift * np.sin(2 * np.pi * ((GPS % 40) + offsets) / period + phase)
    got = det.mains.frequency(GPS, offsets) - base.mains.frequency(GPS, offsets)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-8)  # Hz
    # the witness follows it: its instantaneous frequency (Hilbert phase, 1 s averages)
    n = 12
    seconds = [det.next() for _ in range(n)]
    mains = np.concatenate([s.witnesses[f"H1:{ch.MAINS}"] for s in seconds])
    phase_rad = np.unwrap(np.angle(signal.hilbert(mains)))
    inst = np.diff(phase_rad) * 1024 / (2 * np.pi)
    measured = inst[1024 : (n - 1) * 1024].reshape(-1, 1024).mean(axis=1)
    mid = np.arange(1, n - 1) + 0.5
    law = det.mains.frequency(GPS, mid)
    np.testing.assert_allclose(measured, law, atol=2e-3)
    assert np.ptp(law) > 0.05  # the shift is visible over these seconds


def test_same_seed_same_frames_and_independent_of_the_start() -> None:
    config = DetectorConfig(
        seed=7,
        drift=Drift(depth=0.2, period_s=600, step_gps=GPS + 2, step_witness=DHARD,
                    sideband_witness=MICH, sideband_weight=0.5, line_shift_hz=0.05),
    )  # fmt: skip
    a = [s.strain for s in (lambda d: [d.next() for _ in range(4)])(SimulatedDetector(config, GPS))]
    b = [s.strain for s in (lambda d: [d.next() for _ in range(4)])(SimulatedDetector(config, GPS))]
    late = SimulatedDetector(config, GPS + 3).next().strain
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_allclose(a[3], late, rtol=0, atol=1e-12 * np.abs(late).max())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(drift=Drift(step_gps=GPS, step_witness=MICH)), "step witness .*MICH.* not a coupled"),
        (
            dict(drift=Drift(step_gps=GPS, sideband_witness="PEM-CS_MAINSMON_EBAY_1_DQ")),
            "sideband witness .* not an ASC witness",
        ),
    ],
    ids=["step-uncoupled", "sideband-mains"],
)
def test_config_errors(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        DetectorConfig(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(depth=1.0), r"drift depth 1.0 must be in \[0, 1\)"),
        (dict(line_shift_hz=0.5), r"mains frequency shift 0.5 Hz must be in \[0, 0.2\] Hz"),
        (dict(step_witness=DHARD), "needs step_gps"),
        (dict(period_s=0), "must be > 0"),
    ],
    ids=["depth", "shift", "no-gps", "period"],
)
def test_drift_errors(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        Drift(**kwargs)
