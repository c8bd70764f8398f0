"""Gravitational-wave signals as one detector records them: LALSimulation waveforms, projected.

Classes (:class:`InjectionKind`):

* ``bbh``: binary black hole, ``IMRPhenomD`` (inspiral, merger, ringdown), aligned zero spins;
* ``bns``: neutron-star inspiral, ``TaylorT4`` (3.5PN) up to the innermost stable orbit;
* ``sine_gaussian``: ``SimBurstSineGaussian`` with central frequency ``frequency_hz`` and
  quality factor ``quality`` (e-folding time ``Q / (sqrt(2) pi f)``), linearly polarised
  in plus; its amplitude is ``hrss = sqrt(int h+^2 dt)`` (strain x s^(1/2), i.e. 1/sqrt(Hz)).

Compact binaries start at ``f_lower_hz`` (the waveform's starting gravitational-wave
frequency) with the first and last cycles tapered (``SimInspiralREAL8WaveTaper``). The
polarisations are combined with the antenna pattern of the detector
(``lal.ComputeDetAMResponse``, LAL's cached LHO/LLO/Virgo/KAGRA geometries) at the
Greenwich mean sidereal time of the geocentric time ``gps``, and delayed by the light
travel time from the geocentre (``lal.TimeDelayFromEarthCenter``). The result is placed on
the data's sample grid by a sub-sample Fourier shift, so a signal's timing is exact to
numerical precision, not to a sample.

Units: masses in solar masses (detector frame), distance in Mpc, angles in radians,
times in GPS seconds, frequencies in Hz, strain dimensionless.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np

from deepclean.utils.ifo import IFO


class InjectionKind(StrEnum):
    """The classes of simulated signals."""

    BBH = "bbh"
    BNS = "bns"
    SINE_GAUSSIAN = "sine_gaussian"


APPROXIMANTS = {InjectionKind.BBH: "IMRPhenomD", InjectionKind.BNS: "TaylorT4"}
SINE_GAUSSIAN = "SineGaussian"  #: the "approximant" recorded for sine-Gaussians

#: LAL's cached detector of each IFO prefix
_LAL_DETECTORS = {
    IFO.H1: "LALDetectorIndexLHODIFF",
    IFO.L1: "LALDetectorIndexLLODIFF",
}


@dataclass(frozen=True)
class Injection:
    """One simulated signal (a row of the injection list; see docs/signals.md).

    ``gps`` is the geocentric time of the merger (compact binaries) or of the peak
    (sine-Gaussians); the signal reaches the detector at ``gps + delay`` (s)."""

    kind: InjectionKind
    gps: float  #: geocentric merger/peak time, GPS s
    ra_rad: float = 0.0
    dec_rad: float = 0.0
    polarization_rad: float = 0.0
    inclination_rad: float = 0.0
    coa_phase_rad: float = 0.0
    mass1_msun: float = 0.0  #: compact binaries: detector-frame mass of the heavier body
    mass2_msun: float = 0.0
    distance_mpc: float = 0.0  #: compact binaries: luminosity distance
    f_lower_hz: float = 0.0  #: compact binaries: starting gravitational-wave frequency
    frequency_hz: float = 0.0  #: sine-Gaussians: central frequency
    quality: float = 0.0  #: sine-Gaussians: Q
    hrss: float = 0.0  #: sine-Gaussians: root-sum-squared amplitude of h+, s^(1/2)
    optimal_snr: float = 0.0  #: against the simulator's design background PSD (set by the plan)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", InjectionKind(self.kind))
        problems = []
        if self.kind is InjectionKind.SINE_GAUSSIAN:
            if not (self.frequency_hz > 0 and self.quality > 0 and self.hrss >= 0):
                problems.append(
                    f"frequency_hz {self.frequency_hz}, quality {self.quality} must be > 0 and "
                    f"hrss {self.hrss} >= 0"
                )
        elif not (
            self.mass1_msun > 0
            and self.mass2_msun > 0
            and self.distance_mpc > 0
            and self.f_lower_hz > 0
        ):
            problems.append(
                f"mass1_msun {self.mass1_msun}, mass2_msun {self.mass2_msun}, distance_mpc "
                f"{self.distance_mpc} and f_lower_hz {self.f_lower_hz} must all be > 0"
            )
        if problems:
            raise ValueError(f"{self.kind.value} injection at GPS {self.gps}: {problems[0]}")

    @property
    def approximant(self) -> str:
        return APPROXIMANTS.get(self.kind, SINE_GAUSSIAN)

    def scaled(self, factor: float) -> Injection:
        """The same signal ``factor`` times louder (distance / factor, or hrss x factor)."""
        if not factor > 0:
            raise ValueError(f"scale factor {factor} must be > 0")
        if self.kind is InjectionKind.SINE_GAUSSIAN:
            return replace(self, hrss=self.hrss * factor)
        return replace(self, distance_mpc=self.distance_mpc / factor)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind.value, "approximant": self.approximant}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Injection:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


def polarizations(injection: Injection, sample_rate: float) -> tuple[float, np.ndarray, np.ndarray]:
    """``(t0, h+, hx)``: the polarisations at ``sample_rate`` (Hz); ``t0`` is the time of
    the first sample relative to the merger/peak, s (negative)."""
    import lal
    import lalsimulation as ls

    dt = 1.0 / sample_rate
    if injection.kind is InjectionKind.SINE_GAUSSIAN:
        hp, hc = ls.SimBurstSineGaussian(
            injection.quality, injection.frequency_hz, injection.hrss, 1.0, 0.0, dt
        )
        return float(hp.epoch), hp.data.data.copy(), hc.data.data.copy()
    params = lal.CreateDict()
    hp, hc = ls.SimInspiralChooseTDWaveform(
        injection.mass1_msun * lal.MSUN_SI,
        injection.mass2_msun * lal.MSUN_SI,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        injection.distance_mpc * 1e6 * lal.PC_SI,
        injection.inclination_rad,
        injection.coa_phase_rad,
        0.0,
        0.0,
        0.0,
        dt,
        injection.f_lower_hz,
        injection.f_lower_hz,
        params,
        ls.GetApproximantFromString(injection.approximant),
    )
    for series in (hp, hc):
        ls.SimInspiralREAL8WaveTaper(series.data, ls.SIM_INSPIRAL_TAPER_STARTEND)
    return float(hp.epoch), hp.data.data.copy(), hc.data.data.copy()


def _detector(ifo: IFO | str):
    import lal

    name = _LAL_DETECTORS.get(IFO(ifo))
    if name is None:
        raise ValueError(
            f"IFO {ifo} has no detector geometry here; allowed: {sorted(_LAL_DETECTORS)}"
        )
    return lal.CachedDetectors[getattr(lal, name)]


def antenna_response(injection: Injection, ifo: IFO | str) -> tuple[float, float, float]:
    """``(F+, Fx, delay_s)`` of ``ifo`` for the sky position and polarisation of ``injection``
    at its geocentric time (delay: arrival at the detector minus at the geocentre, s)."""
    import lal

    det = _detector(ifo)
    gmst = lal.GreenwichMeanSiderealTime(lal.LIGOTimeGPS(injection.gps))
    fplus, fcross = lal.ComputeDetAMResponse(
        det.response, injection.ra_rad, injection.dec_rad, injection.polarization_rad, gmst
    )
    delay = lal.TimeDelayFromEarthCenter(
        det.location, injection.ra_rad, injection.dec_rad, lal.LIGOTimeGPS(injection.gps)
    )
    return float(fplus), float(fcross), float(delay)


def fractional_shift(x: np.ndarray, shift_samples: float) -> np.ndarray:
    """``x`` delayed by ``shift_samples`` (|shift| < 1) by a Fourier phase ramp, zero-padded
    so nothing wraps round; returns ``len(x) + 2`` samples starting one sample earlier."""
    from scipy.fft import next_fast_len

    padded = np.concatenate([[0.0], x, [0.0]])
    n = next_fast_len(len(padded) * 2, real=True)
    spectrum = np.fft.rfft(padded, n)
    freqs = np.fft.rfftfreq(n)
    return np.fft.irfft(spectrum * np.exp(-2j * np.pi * freqs * shift_samples), n)[: len(padded)]


@dataclass(frozen=True)
class DetectorSignal:
    """A signal on the data's sample grid: ``samples[k]`` is at GPS ``start_sample + k`` /
    ``sample_rate``."""

    start_sample: int  #: GPS time of the first sample x sample_rate (an integer)
    samples: np.ndarray
    sample_rate: float
    arrival_gps: float  #: merger/peak time at the detector, GPS s

    @property
    def start_gps(self) -> float:
        return self.start_sample / self.sample_rate

    @property
    def end_gps(self) -> float:
        return (self.start_sample + len(self.samples)) / self.sample_rate

    def window(self, gps: int, seconds: int = 1) -> np.ndarray:
        """The signal over ``[gps, gps + seconds)`` (zeros where it is absent)."""
        fs = int(self.sample_rate)
        out = np.zeros(seconds * fs)
        first = gps * fs - self.start_sample
        lo, hi = max(first, 0), min(first + seconds * fs, len(self.samples))
        if hi > lo:
            out[lo - first : hi - first] = self.samples[lo:hi]
        return out


def detector_signal(injection: Injection, ifo: IFO | str, sample_rate: float) -> DetectorSignal:
    """``F+ h+ + Fx hx`` at ``ifo``, on the GPS sample grid of ``sample_rate`` (Hz)."""
    t0, hp, hc = polarizations(injection, sample_rate)
    fplus, fcross, delay = antenna_response(injection, ifo)
    strain = fplus * hp + fcross * hc
    second = math.floor(injection.gps)  # whole GPS seconds apart: float64 keeps sub-ns offsets
    offset = (injection.gps - second + delay + t0) * sample_rate  # first sample, samples
    whole = math.floor(offset)
    shifted = fractional_shift(strain, offset - whole)
    start = second * int(sample_rate) + whole - 1
    return DetectorSignal(start, shifted, float(sample_rate), injection.gps + delay)


__all__ = [
    "DetectorSignal",
    "Injection",
    "InjectionKind",
    "antenna_response",
    "detector_signal",
    "fractional_shift",
    "polarizations",
]
