"""Mains noise at the line's harmonics (120 and 180 Hz on a 60 Hz grid).

Real mains carries harmonic distortion, and it couples into strain at the harmonics as
the fundamental does at the line. For each :class:`Harmonic` of order ``k``:

* the mains monitor witness carries ``witness_fraction * A(t) sin(2 pi k phi(t) + phase_rad)``
  (``A``, ``phi``: the line's envelope and phase, :class:`~.mains.MainsLine`), so the witness
  explains it;
* strain carries ``g_lin h_k(t) + g_bil h_k(t) sum_i w_i(t) a_i(t)`` with
  ``h_k = A(t) / amplitude * sin(2 pi k phi(t) + phase_rad + coupling_phase_rad)``: a line of
  amplitude ``g_lin = linear_amplitude * ASD_background(k f0)`` (x 1 sqrt(Hz)) and bilinear
  sidebands (the same ASC products as at the fundamental) whose mean ASD over
  ``k f0 +/- 2 Hz`` is ``bilinear_asd_ratio`` x the background's.

:data:`DEMO_HARMONICS` is what the demo detector (``deepclean simulate``) uses;
:class:`~.detector.DetectorConfig` has none by default.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Harmonic:
    """One harmonic of the mains line; see the module docstring."""

    order: int  #: 2 = twice the line frequency (120 Hz on a 60 Hz grid)
    witness_fraction: float  #: amplitude in the mains monitor / the fundamental's
    linear_amplitude: float  #: strain line amplitude / ASD_background(order x f0), sqrt(Hz)
    bilinear_asd_ratio: float  #: mean ASD(sidebands) / ASD(background) over order x f0 +/- 2 Hz
    phase_rad: float = 0.0  #: phase of the harmonic relative to ``order`` x the line's phase

    def __post_init__(self) -> None:
        if self.order < 2:
            raise ValueError(f"harmonic order {self.order} must be >= 2 (1 is the line itself)")
        if self.witness_fraction <= 0:
            raise ValueError(
                f"harmonic {self.order}: witness_fraction {self.witness_fraction} must be > 0 "
                "(the witness must see the harmonic it explains)"
            )
        if self.linear_amplitude < 0 or self.bilinear_asd_ratio < 0:
            raise ValueError(
                f"harmonic {self.order}: linear_amplitude {self.linear_amplitude} and "
                f"bilinear_asd_ratio {self.bilinear_asd_ratio} must be >= 0"
            )


#: the demo detector's harmonics: 2nd and 3rd, 5% and 10% of the line in the mains monitor
DEMO_HARMONICS: tuple[Harmonic, ...] = (
    Harmonic(order=2, witness_fraction=0.05, linear_amplitude=20.0, bilinear_asd_ratio=6.0,
             phase_rad=0.4),
    Harmonic(order=3, witness_fraction=0.1, linear_amplitude=30.0, bilinear_asd_ratio=8.0,
             phase_rad=1.3),
)  # fmt: skip


def check_harmonics(
    harmonics: tuple[Harmonic, ...], line_hz: float, nyquist_hz: float
) -> list[str]:
    """Problems with ``harmonics`` of a ``line_hz`` line recorded up to ``nyquist_hz``."""
    problems = []
    orders = [h.order for h in harmonics]
    if len(set(orders)) != len(orders):
        problems.append(f"harmonic orders {orders} repeat")
    for h in harmonics:
        if h.order * line_hz + 2.5 >= nyquist_hz:
            problems.append(
                f"harmonic {h.order} of {line_hz} Hz ({h.order * line_hz} Hz) is too close to the "
                f"mains monitor's Nyquist frequency {nyquist_hz} Hz"
            )
    return problems
