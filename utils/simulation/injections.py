"""Which signals the simulator injects, where, and how loud: a deterministic injection plan.

Signals go into strain only (never into witnesses: a witness that saw the signal would
teach the network to subtract it). Two sources, combinable:

* explicit GPS times (``gps_times``): the i-th one is of kind ``kinds[i % len(kinds)]``;
* random times (``every_s``): one signal per GPS interval ``[k every, (k + 1) every)``,
  kind ``kinds[k % len(kinds)]``, peak uniformly in the middle half of the interval.

Everything random about signal ``k`` (time, sky position, polarisation, inclination, phase,
masses) is drawn from a generator seeded by ``(seed, stream, k)``, so a GPS second's signal
depends only on the seed, the plan and the second (as the detector's noise does), not on
where a run started. Masses: binary black holes 10-40 M_sun each, neutron stars 1.2-1.6.

Size: with ``snr`` set each signal is scaled to that optimal SNR against the simulator's
design background PSD (:func:`~.spectra.background_asd`) over ``SNR_F_LOW_HZ``-
``SNR_F_HIGH_HZ`` (the band of the 4096 Hz cleaned data); otherwise compact binaries sit
at ``distance_mpc`` and sine-Gaussians have ``hrss``. The optimal SNR is recorded either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from deepclean.utils.ifo import IFO
from deepclean.utils.signal.snr import design_optimal_snr
from deepclean.utils.simulation.spectra import background_asd
from deepclean.utils.simulation.waveforms import (
    DetectorSignal,
    Injection,
    InjectionKind,
    detector_signal,
)

SNR_F_LOW_HZ = 20.0  #: low end of the band in which optimal SNRs are computed, Hz
SNR_F_HIGH_HZ = 2048.0  #: high end (Nyquist of the 4096 Hz cleaned data), Hz
INJECTION_STREAM = 0x1A3EC7  #: generator stream id of the random injections
MASS_RANGES = {InjectionKind.BBH: (10.0, 40.0), InjectionKind.BNS: (1.2, 1.6)}  #: M_sun
STRAIN_RATE_HZ = 16384


@dataclass(frozen=True)
class InjectionConfig:
    """What to inject (see the module docstring). Frequencies in Hz, times in GPS s."""

    ifo: IFO = IFO.H1
    seed: int = 0
    every_s: int | None = None  #: one random signal per interval of this length; None: none
    gps_times: tuple[float, ...] = ()  #: explicit geocentric peak/merger times
    kinds: tuple[InjectionKind, ...] = (
        InjectionKind.BBH,
        InjectionKind.BNS,
        InjectionKind.SINE_GAUSSIAN,
    )
    snr: float | None = 20.0  #: target optimal SNR; None: sized by distance_mpc / hrss
    distance_mpc: float = 400.0
    hrss: float = 1e-22
    f_lower_hz: float = 30.0  #: compact binaries' starting frequency
    sine_gaussian_frequency_hz: float = 60.0
    sine_gaussian_quality: float = 9.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "ifo", IFO(self.ifo))
        object.__setattr__(self, "kinds", tuple(InjectionKind(k) for k in self.kinds))
        object.__setattr__(self, "gps_times", tuple(float(t) for t in self.gps_times))
        if not self.kinds:
            raise ValueError("injection kinds is empty; allowed: " + ", ".join(InjectionKind))
        if self.every_s is not None and self.every_s < 8:
            raise ValueError(f"injection interval {self.every_s} s must be at least 8 s")
        if self.snr is not None and not self.snr > 0:
            raise ValueError(f"injection SNR {self.snr} must be > 0")
        if not (self.distance_mpc > 0 and self.hrss > 0 and self.f_lower_hz >= 10.0):
            raise ValueError(
                f"distance {self.distance_mpc} Mpc and hrss {self.hrss} must be > 0, f_lower "
                f"{self.f_lower_hz} Hz >= 10 Hz"
            )

    @property
    def active(self) -> bool:
        return self.every_s is not None or bool(self.gps_times)


def _draw(config: InjectionConfig, kind: InjectionKind, gps: float, rng) -> Injection:
    sky = {
        "ra_rad": float(rng.uniform(0, 2 * math.pi)),
        "dec_rad": float(math.asin(rng.uniform(-1, 1))),
        "polarization_rad": float(rng.uniform(0, math.pi)),
    }
    if kind is InjectionKind.SINE_GAUSSIAN:
        return Injection(
            kind,
            gps,
            **sky,
            frequency_hz=config.sine_gaussian_frequency_hz,
            quality=config.sine_gaussian_quality,
            hrss=config.hrss,
        )
    low, high = MASS_RANGES[kind]
    m1, m2 = sorted(rng.uniform(low, high, 2), reverse=True)
    return Injection(
        kind,
        gps,
        **sky,
        inclination_rad=float(math.acos(rng.uniform(-1, 1))),
        coa_phase_rad=float(rng.uniform(0, 2 * math.pi)),
        mass1_msun=float(m1),
        mass2_msun=float(m2),
        distance_mpc=config.distance_mpc,
        f_lower_hz=config.f_lower_hz,
    )


def sized(
    injection: Injection, ifo: IFO | str, snr: float | None, sample_rate: float = STRAIN_RATE_HZ
) -> tuple[Injection, DetectorSignal]:
    """``injection`` scaled to optimal SNR ``snr`` (None: as it is), with its detector signal;
    ``optimal_snr`` is filled in against the design PSD."""
    signal = detector_signal(injection, ifo, sample_rate)
    rho = design_optimal_snr(
        signal.samples, sample_rate, background_asd, SNR_F_LOW_HZ, SNR_F_HIGH_HZ
    )
    if not rho > 0:
        raise ValueError(
            f"{injection.kind.value} injection at GPS {injection.gps} has no power in band"
        )
    factor = 1.0 if snr is None else snr / rho
    scaled = injection.scaled(factor) if factor != 1.0 else injection
    return (
        replace(scaled, optimal_snr=rho * factor),
        replace(signal, samples=signal.samples * factor),
    )


class InjectionPlan:
    """The injections of ``config`` and their detector signals at 16384 Hz (cached)."""

    def __init__(self, config: InjectionConfig) -> None:
        self.config = config
        self._cache: dict[tuple[str, int], tuple[Injection, DetectorSignal]] = {}
        # generous bound on how long before its peak a signal starts: the chirp time of the
        # lightest binary from f_lower (BNS at 30 Hz: ~55 s), plus tapering margins
        self.lookback_s = _chirp_time_s(1.2, 1.2, config.f_lower_hz) + 4.0

    def _get(self, key: tuple[str, int]) -> tuple[Injection, DetectorSignal]:
        if key not in self._cache:
            c = self.config
            source, index = key
            if source == "explicit":
                kind = c.kinds[index % len(c.kinds)]
                rng = np.random.default_rng([c.seed, INJECTION_STREAM, 1, index])
                gps = c.gps_times[index]
            else:
                kind = c.kinds[index % len(c.kinds)]
                rng = np.random.default_rng([c.seed, INJECTION_STREAM, 0, index])
                gps = index * c.every_s + c.every_s * (0.25 + 0.5 * rng.uniform())
            self._cache[key] = sized(_draw(c, kind, gps, rng), c.ifo, c.snr)
        return self._cache[key]

    def _keys(self, start: float, end: float) -> list[tuple[str, int]]:
        c = self.config
        keys = [
            ("explicit", i)
            for i, t in enumerate(c.gps_times)
            if start - 8.0 < t < end + self.lookback_s
        ]
        if c.every_s is not None:
            first = math.floor((start - 8.0) / c.every_s)
            last = math.floor((end + self.lookback_s) / c.every_s)
            keys += [("random", k) for k in range(max(first, 0), last + 1)]
        return keys

    def signals(self, start: float, end: float) -> list[tuple[Injection, DetectorSignal]]:
        """Injections whose signal overlaps ``[start, end)`` GPS s, by peak time."""
        found = []
        for key in self._keys(start, end):
            injection, signal = self._get(key)
            if signal.start_gps < end and signal.end_gps > start:
                found.append((injection, signal))
        return sorted(found, key=lambda pair: pair[0].gps)

    def strain(self, gps: int, seconds: int = 1) -> np.ndarray:
        """The summed injected signal over ``[gps, gps + seconds)`` at 16384 Hz."""
        total = np.zeros(seconds * STRAIN_RATE_HZ)
        for _, signal in self.signals(gps, gps + seconds):
            total += signal.window(gps, seconds)
        self.forget_before(gps - self.lookback_s)
        return total

    def forget_before(self, gps: float) -> None:
        """Drop cached signals that ended before ``gps``."""
        for key in [k for k, (_, s) in self._cache.items() if s.end_gps < gps]:
            del self._cache[key]


def _chirp_time_s(m1_msun: float, m2_msun: float, f_low_hz: float) -> float:
    """Newtonian chirp time from ``f_low_hz`` to merger, s (an upper bound suffices here)."""
    mtot = (m1_msun + m2_msun) * 4.925491e-6  # s
    eta = m1_msun * m2_msun / (m1_msun + m2_msun) ** 2
    return 5.0 / (256.0 * eta) * mtot ** (-5.0 / 3.0) * (math.pi * f_low_hz) ** (-8.0 / 3.0) * 1.1


__all__ = [
    "InjectionConfig",
    "InjectionPlan",
    "SNR_F_HIGH_HZ",
    "SNR_F_LOW_HZ",
    "sized",
]
