"""Injected waveforms against independent computations: closed forms, LAL's SNR, FD model."""

import math

import lal
import lalsimulation as ls
import numpy as np
import pytest

from deepclean.utils.signal.snr import design_optimal_snr, optimal_snr
from deepclean.utils.simulation.spectra import background_asd
from deepclean.utils.simulation.waveforms import (
    Injection,
    InjectionKind,
    antenna_response,
    detector_signal,
    fractional_shift,
    polarizations,
)

FS = 16384.0
GPS = 1_400_000_000


def sine_gaussian(t, f0, q, hrss):
    """Closed form of a linearly polarised sine-Gaussian with root-sum-square ``hrss``."""
    tau = q / (math.sqrt(2) * math.pi * f0)
    h0 = hrss / math.sqrt(tau * math.sqrt(math.pi / 2) / 2 * (1 + math.exp(-(q**2))))
    return h0 * np.exp(-((t / tau) ** 2)) * np.cos(2 * math.pi * f0 * t)


def test_sine_gaussian_matches_its_closed_form():
    inj = Injection(InjectionKind.SINE_GAUSSIAN, GPS + 0.25, frequency_hz=60, quality=9, hrss=1e-21)
    t0, hp, hc = polarizations(inj, FS)
    t = t0 + np.arange(len(hp)) / FS
    model = sine_gaussian(t, 60, 9, 1e-21)
    assert np.max(np.abs(hp - model)) < 1e-6 * np.max(np.abs(model))
    assert not np.any(hc)
    assert math.sqrt(np.sum(hp**2) / FS) == pytest.approx(1e-21, rel=1e-9)


def _tensor(vec_a, vec_b):
    return np.outer(vec_a, vec_b)


def test_antenna_pattern_against_the_polarisation_tensors():
    """F+ = D:e+, Fx = D:ex with the wave frame built by hand from ra, dec, psi and GMST."""
    inj = Injection(
        InjectionKind.SINE_GAUSSIAN,
        GPS + 0.3,
        ra_rad=1.1,
        dec_rad=-0.4,
        polarization_rad=0.7,
        frequency_hz=60,
        quality=9,
        hrss=1e-22,
    )
    fplus, fcross, delay = antenna_response(inj, "H1")
    det = lal.CachedDetectors[lal.LALDetectorIndexLHODIFF]
    gha = lal.GreenwichMeanSiderealTime(lal.LIGOTimeGPS(inj.gps)) - inj.ra_rad
    dec, psi = inj.dec_rad, inj.polarization_rad
    x = np.array(
        [
            -math.cos(psi) * math.sin(gha) - math.sin(psi) * math.cos(gha) * math.sin(dec),
            -math.cos(psi) * math.cos(gha) + math.sin(psi) * math.sin(gha) * math.sin(dec),
            math.sin(psi) * math.cos(dec),
        ]
    )
    y = np.array(
        [
            math.sin(psi) * math.sin(gha) - math.cos(psi) * math.cos(gha) * math.sin(dec),
            math.sin(psi) * math.cos(gha) + math.cos(psi) * math.sin(gha) * math.sin(dec),
            math.cos(psi) * math.cos(dec),
        ]
    )
    d = np.array(det.response)
    assert fplus == pytest.approx(np.sum(d * (_tensor(x, x) - _tensor(y, y))), abs=1e-6)
    assert fcross == pytest.approx(np.sum(d * (_tensor(x, y) + _tensor(y, x))), abs=1e-6)
    # light travel time: -(source direction . detector position) / c
    n = np.array([math.cos(dec) * math.cos(gha), -math.cos(dec) * math.sin(gha), math.sin(dec)])
    assert delay == pytest.approx(-np.dot(n, np.array(det.location)) / lal.C_SI, abs=1e-6)
    assert abs(delay) < 0.0214  # at most the Earth's radius over c


def test_detector_signal_lands_on_the_sample_grid_exactly():
    """A sine-Gaussian at an arbitrary time equals the closed form at the grid times."""
    inj = Injection(
        InjectionKind.SINE_GAUSSIAN,
        GPS + 0.123456789,
        ra_rad=2.0,
        dec_rad=0.5,
        polarization_rad=0.3,
        frequency_hz=150,
        quality=12,
        hrss=1e-21,
    )
    fplus, _, delay = antenna_response(inj, "H1")
    sig = detector_signal(inj, "H1", FS)
    assert sig.arrival_gps == pytest.approx(inj.gps + delay, abs=1e-9)
    # GPS times as float64 resolve only ~2e-7 s: times relative to GPS keep full precision
    t = (sig.start_sample - GPS * int(FS) + np.arange(len(sig.samples))) / FS - (
        (inj.gps - GPS) + delay
    )
    model = fplus * sine_gaussian(t, 150, 12, 1e-21)
    assert np.max(np.abs(sig.samples - model)) < 1e-5 * np.max(np.abs(model))


def test_fractional_shift_delays_a_band_limited_pulse():
    t = np.arange(-200, 200)
    x = np.exp(-((t / 20.0) ** 2)) * np.cos(0.3 * t)
    y = fractional_shift(x, 0.37)
    tt = np.arange(-201, 201) - 0.37
    expected = np.exp(-((tt / 20.0) ** 2)) * np.cos(0.3 * tt)
    assert np.max(np.abs(y - expected)) < 1e-9


@pytest.mark.parametrize("kind", [InjectionKind.BBH, InjectionKind.BNS], ids=str)
def test_optimal_snr_two_ways(kind):
    """Our inner product against LALSimulation's MeasureSNR over the same PSD."""
    masses = (30.0, 25.0) if kind is InjectionKind.BBH else (1.4, 1.3)
    inj = Injection(kind, GPS + 0.5, 1.0, 0.2, 0.3, 0.4, 0.5, *masses, 100.0, 40.0)
    sig = detector_signal(inj, "H1", FS)
    ours = design_optimal_snr(sig.samples, FS, background_asd, 40.0, 2048.0)
    series = lal.CreateREAL8TimeSeries(
        "h", lal.LIGOTimeGPS(0), 0.0, 1 / FS, lal.StrainUnit, len(sig.samples)
    )
    series.data.data = sig.samples
    n = len(sig.samples)
    df = FS / n
    psd = lal.CreateREAL8FrequencySeries(
        "psd", lal.LIGOTimeGPS(0), 0.0, df, lal.Unit("strain^2 s"), n // 2 + 1
    )
    psd.data.data = background_asd(np.arange(n // 2 + 1) * df) ** 2
    theirs = ls.MeasureSNR(series, psd, 40.0, 2048.0)
    assert ours == pytest.approx(theirs, rel=2e-3)


def test_bbh_time_domain_snr_matches_the_frequency_domain_model():
    """IMRPhenomD in the time domain (ours, tapered) against LAL's frequency-domain IMRPhenomD."""
    inj = Injection(InjectionKind.BBH, GPS, 0, 0, 0, 0, 0, 30.0, 25.0, 100.0, 20.0)
    _, hp, _ = polarizations(inj, FS)
    psd = background_asd(np.fft.rfftfreq(len(hp), 1 / FS)) ** 2
    td = optimal_snr(hp, FS, psd, 30.0, 2048.0)
    df = 1 / 16.0
    hpf, _ = ls.SimInspiralChooseFDWaveform(
        30 * lal.MSUN_SI,
        25 * lal.MSUN_SI,
        0,
        0,
        0,
        0,
        0,
        0,
        100e6 * lal.PC_SI,
        0,
        0,
        0,
        0,
        0,
        df,
        20.0,
        2048.0,
        20.0,
        lal.CreateDict(),
        ls.IMRPhenomD,
    )
    f = np.arange(hpf.data.length) * df
    keep = (f >= 30.0) & (f <= 2048.0)
    fd = math.sqrt(4 * df * np.sum(np.abs(hpf.data.data[keep]) ** 2 / background_asd(f[keep]) ** 2))
    assert td == pytest.approx(fd, rel=0.01)


def test_bad_injection_names_the_values():
    with pytest.raises(ValueError, match=r"mass1_msun 0.0.*must all be > 0"):
        Injection(InjectionKind.BBH, GPS)
    with pytest.raises(ValueError, match="frequency_hz 0"):
        Injection(InjectionKind.SINE_GAUSSIAN, GPS)
