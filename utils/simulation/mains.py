"""The mains line: a sinusoid near 60 Hz (or 50 Hz) with slowly wandering amplitude and frequency.

``m(t) = A(t) sin(phi(t) + shift)`` with

* ``A(t) = amplitude * (1 + sum_j a_j sin(2 pi nu_j t + theta_j))`` (a few per cent, periods
  of tens to hundreds of seconds),
* ``f(t) = frequency_hz + sum_j b_j sin(2 pi mu_j t + chi_j)`` (a few mHz, periods of
  tens of seconds to ten minutes), and ``phi`` its exact integral.

The signal is an analytic function of absolute GPS time, so any stretch can be evaluated on
its own and stretches join exactly. Products ``frequency * gps`` are reduced modulo one
cycle in exact rational arithmetic, so the phase stays accurate at GPS times ~1e9 s.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

#: stream id of the generator drawing the wander parameters
MAINS_STREAM = 0x4D41494E
WANDER_GRID_PER_S = 64  #: points per second at which the slow wander terms are evaluated


def _cycles(freq_hz: float, gps: int, offsets_s: np.ndarray) -> np.ndarray:
    """``freq_hz * (gps + offsets_s)`` modulo whole cycles (exact for the integer part)."""
    whole = float(Fraction(freq_hz) * int(gps) % 1)
    return whole + freq_hz * offsets_s


@dataclass(frozen=True)
class Wander:
    """One slow sinusoidal wander term: ``depth * sin(2 pi rate_hz t + phase_rad)``."""

    depth: float
    rate_hz: float
    phase_rad: float


@dataclass(frozen=True)
class MainsLine:
    """The mains line; ``amplitude`` in witness counts, frequencies in Hz."""

    frequency_hz: float = 60.0
    amplitude: float = 100.0
    amplitude_wander: tuple[Wander, ...] = ()  #: depths relative to ``amplitude``
    frequency_wander: tuple[Wander, ...] = ()  #: depths in Hz

    @classmethod
    def from_seed(
        cls,
        seed: int,
        *,
        frequency_hz: float = 60.0,
        amplitude: float = 100.0,
        amplitude_depth: float = 0.05,
        frequency_depth_hz: float = 0.004,
    ) -> MainsLine:
        """A line whose three amplitude and three frequency wander terms are drawn from
        ``seed``: total amplitude depth ``amplitude_depth`` (fraction), total frequency
        excursion ``frequency_depth_hz`` (Hz)."""
        if not frequency_hz > 0:
            raise ValueError(f"mains frequency {frequency_hz} Hz must be positive")
        rng = np.random.default_rng([int(seed), MAINS_STREAM])

        def terms(total: float, slowest_s: float, fastest_s: float) -> tuple[Wander, ...]:
            weights = rng.dirichlet(np.ones(3))
            periods = np.exp(rng.uniform(np.log(fastest_s), np.log(slowest_s), 3))
            phases = rng.uniform(0, 2 * np.pi, 3)
            return tuple(
                Wander(float(total * w), float(1 / p), float(ph))
                for w, p, ph in zip(weights, periods, phases)
            )

        return cls(
            frequency_hz=float(frequency_hz),
            amplitude=float(amplitude),
            amplitude_wander=terms(amplitude_depth, 300.0, 20.0),
            frequency_wander=terms(frequency_depth_hz, 600.0, 30.0),
        )

    def envelope(self, gps: int, offsets_s: np.ndarray) -> np.ndarray:
        """``A(t)`` at times ``gps + offsets_s`` (seconds)."""
        env = np.ones_like(offsets_s, dtype=np.float64)
        for w in self.amplitude_wander:
            env += w.depth * np.sin(2 * np.pi * _cycles(w.rate_hz, gps, offsets_s) + w.phase_rad)
        return self.amplitude * env

    def phase_cycles(self, gps: int, offsets_s: np.ndarray) -> np.ndarray:
        """``phi(t) / 2 pi`` (cycles, modulo whole cycles) at times ``gps + offsets_s``."""
        cycles = _cycles(self.frequency_hz, gps, offsets_s)
        for w in self.frequency_wander:
            # integral of depth * sin(2 pi r t + p) dt, in cycles
            cycles = cycles - w.depth / (2 * np.pi * w.rate_hz) * np.cos(
                2 * np.pi * _cycles(w.rate_hz, gps, offsets_s) + w.phase_rad
            )
        return cycles

    def frequency(self, gps: int, offsets_s: np.ndarray) -> np.ndarray:
        """Instantaneous frequency ``f(t)`` (Hz) at times ``gps + offsets_s``."""
        f = np.full_like(offsets_s, self.frequency_hz, dtype=np.float64)
        for w in self.frequency_wander:
            f += w.depth * np.sin(2 * np.pi * _cycles(w.rate_hz, gps, offsets_s) + w.phase_rad)
        return f

    def sample(
        self, gps: int, sample_rate: int, shift_rad: float = 0.0, *, harmonic: int = 1
    ) -> np.ndarray:
        """One second of ``m(t)`` (counts) from GPS ``gps`` at ``sample_rate`` Hz, phase
        shifted by ``shift_rad``; with ``harmonic`` k > 1, ``A(t) sin(k phi(t) + shift)``.

        The slow wander terms are evaluated exactly on a 1/64 s grid (both ends of the second
        included) and interpolated linearly; the interpolated curves *are* the model, and they
        are identical at every sample rate, so a witness and the strain coupling evaluated at
        coincident times agree exactly and seconds join exactly."""
        grid = np.arange(WANDER_GRID_PER_S + 1) / WANDER_GRID_PER_S
        offsets = np.arange(int(sample_rate)) / float(sample_rate)
        envelope = np.interp(offsets, grid, self.envelope(gps, grid))
        wander = np.interp(
            offsets, grid, self.phase_cycles(gps, grid) - _cycles(self.frequency_hz, gps, grid)
        )
        cycles = _cycles(self.frequency_hz, gps, offsets) + wander
        phase = 2 * np.pi * (harmonic * cycles if harmonic != 1 else cycles) + shift_rad
        return envelope * np.sin(phase)
