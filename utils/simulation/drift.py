"""Coupling that changes with time: slow drift, a step at a given GPS, a shifting mains line.

The demo detector's coupling is otherwise constant, so retraining could never beat the
model in production. :class:`Drift` describes three changes, all off by default and all
functions of absolute GPS time (so a second's samples depend only on the seed and the GPS,
never on where a run started):

* **slow drift** of every bilinear coupling weight:
  ``w_i(t) = w_i * (1 + depth * sin(2 pi (t / period_s) + theta_i))``, with ``theta_i`` a
  phase in [0, 2 pi) fixed by the seed and the witness name (:func:`drift_phase`);
* **a step** at GPS ``step_gps`` (a second boundary, so exactly between two frames): from
  then on the weight of ``step_witness`` is multiplied by ``step_factor`` (2 = the
  coupling doubles) and ``sideband_witness``, which did not couple before, couples with
  weight ``sideband_weight`` (a new bilinear sideband);
* **the mains frequency shifting** by up to ``line_shift_hz`` within the grid's operating
  range: one more slow term of the line's frequency wander,
  ``df(t) = line_shift_hz * sin(2 pi t / line_shift_period_s + phi)``, whose phase is
  integrated exactly by :class:`~.mains.MainsLine` (the witness and the strain follow it).

Times in GPS seconds, periods in seconds, frequencies in Hz; weights are the dimensionless
relative weights of :class:`~.detector.DetectorConfig`'s couplings.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from deepclean.utils.simulation.mains import MainsLine, Wander, _cycles

#: largest ``line_shift_hz``: a 60 Hz grid's frequency stays within ~0.05 Hz of nominal in
#: normal operation; 0.2 Hz keeps the bilinear sidebands inside a +/- 2.5 Hz cleaning band
MAX_LINE_SHIFT_HZ = 0.2
HOUR_S = 3600.0


def drift_phase(seed: int, name: str) -> float:
    """Phase (rad, in [0, 2 pi)) of the slow drift of witness ``name``'s coupling."""
    return 2 * math.pi * (zlib.crc32(f"drift:{seed}:{name}".encode()) / 2**32)


@dataclass(frozen=True)
class Drift:
    """How the coupling changes with time; see the module docstring. Default: no change."""

    depth: float = 0.0  #: relative amplitude of the slow drift of each coupling weight
    period_s: float = 6 * HOUR_S  #: period of the slow drift, s
    step_gps: int | None = None  #: GPS second at which the step happens; none = no step
    step_witness: str | None = None  #: coupled witness whose weight is scaled at the step
    step_factor: float = 2.0  #: factor applied to ``step_witness``'s weight from ``step_gps``
    sideband_witness: str | None = None  #: witness that starts to couple at ``step_gps``
    sideband_weight: float = 0.0  #: its weight from ``step_gps``
    line_shift_hz: float = 0.0  #: amplitude of the slow mains frequency shift, Hz
    line_shift_period_s: float = 4 * HOUR_S  #: period of the mains frequency shift, s

    def __post_init__(self) -> None:
        problems = []
        if not 0.0 <= self.depth < 1.0:
            problems.append(f"drift depth {self.depth} must be in [0, 1)")
        if not self.period_s > 0 or not self.line_shift_period_s > 0:
            problems.append(
                f"drift periods {self.period_s} s and {self.line_shift_period_s} s must be > 0"
            )
        if not 0.0 <= self.line_shift_hz <= MAX_LINE_SHIFT_HZ:
            problems.append(
                f"mains frequency shift {self.line_shift_hz} Hz must be in [0, "
                f"{MAX_LINE_SHIFT_HZ}] Hz"
            )
        if self.step_factor < 0 or self.sideband_weight < 0:
            problems.append(
                f"step factor {self.step_factor} and sideband weight {self.sideband_weight} "
                "must be >= 0"
            )
        has_change = self.step_witness is not None or self.sideband_witness is not None
        if has_change and self.step_gps is None:
            problems.append("a step witness or sideband witness needs step_gps")
        if self.step_gps is not None and self.step_gps < 0:
            problems.append(f"step GPS {self.step_gps} must be >= 0")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def changes_coupling(self) -> bool:
        """Whether any coupling weight depends on time."""
        return self.depth > 0 or self.step_gps is not None

    def check_witnesses(self, coupled: Sequence[str], asc: Sequence[str]) -> list[str]:
        """Problems with the step's witnesses given the ``coupled`` and all ``asc`` names."""
        problems = []
        if self.step_witness is not None and self.step_witness not in coupled:
            problems.append(f"step witness {self.step_witness} is not a coupled witness")
        if self.sideband_witness is not None and self.sideband_witness not in asc:
            problems.append(f"sideband witness {self.sideband_witness} is not an ASC witness")
        return problems

    def names(self, coupled: Sequence[str]) -> list[str]:
        """The witnesses whose product with the mains ever couples: ``coupled`` plus the
        sideband witness."""
        extra = [self.sideband_witness] if self.sideband_witness else []
        return list(dict.fromkeys([*coupled, *extra]))

    def weights(
        self,
        seed: int,
        names: Sequence[str],
        base: Sequence[float],
        gps: int,
        offsets_s: np.ndarray,
    ) -> np.ndarray:
        """Coupling weights ``(len(names), len(offsets_s))`` at times ``gps + offsets_s``.

        ``base`` holds each name's constant weight (0 for a witness that only couples after
        the step)."""
        offsets = np.asarray(offsets_s, dtype=np.float64)
        out = np.repeat(np.asarray(base, dtype=np.float64)[:, None], offsets.size, axis=1)
        if self.depth > 0:
            for i, name in enumerate(names):
                cycles = _cycles(1.0 / self.period_s, gps, offsets)
                out[i] *= 1.0 + self.depth * np.sin(2 * np.pi * cycles + drift_phase(seed, name))
        if self.step_gps is not None:
            after = offsets >= self.step_gps - gps  # exact: an integer difference
            for i, name in enumerate(names):
                if name == self.step_witness:
                    out[i] = np.where(after, out[i] * self.step_factor, out[i])
                if name == self.sideband_witness:
                    out[i] = np.where(after, out[i] + self.sideband_weight, out[i])
        return out

    def shifted_mains(self, mains: MainsLine, seed: int) -> MainsLine:
        """``mains`` with the slow frequency shift added to its wander (unchanged when off)."""
        if self.line_shift_hz == 0:
            return mains
        phase = drift_phase(seed, "mains frequency")
        term = Wander(self.line_shift_hz, 1.0 / self.line_shift_period_s, phase)
        return replace(mains, frequency_wander=(*mains.frequency_wander, term))
