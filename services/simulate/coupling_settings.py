"""Settings of ``deepclean simulate`` for coupling that changes: harmonics, drift, a step.

A mixin of :class:`~.settings.SimulateSettings` (the same table
``[tool.deepclean.simulate]``, flags and ``DEEPCLEAN_SIMULATE_*`` variables). The physics is
documented in :mod:`deepclean.utils.simulation.drift` and
:mod:`deepclean.utils.simulation.harmonics`. Harmonic coupling is on by default (the demo
detector has it, issue 24); every change in time is off by default.
"""

from __future__ import annotations

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat

from deepclean.utils.config.settings import SettingsGroup
from deepclean.utils.simulation.drift import HOUR_S, MAX_LINE_SHIFT_HZ, Drift
from deepclean.utils.simulation.harmonics import DEMO_HARMONICS, Harmonic


class CouplingChangeSettings(SettingsGroup):
    """Harmonic coupling and the coupling's changes in time (see the module docstring)."""

    harmonics: bool = True
    """couple mains noise at the line's 2nd and 3rd harmonics too (120 and 180 Hz on a 60 Hz grid;
    lines and bilinear sidebands, the harmonics also in the mains monitor); --no-harmonics: only
    around the line"""
    drift_depth: float = Field(0.0, ge=0.0, lt=1.0)
    """relative amplitude of the slow sinusoidal drift of every bilinear coupling weight
    (0 = none)"""
    drift_period: PositiveFloat = 6 * HOUR_S
    """period of the slow coupling drift, s"""
    step_gps: NonNegativeInt | None = None
    """GPS second at which the coupling steps (step_witness scaled, sideband_witness starts to
    couple); none = no step"""
    step_witness: str | None = None
    """coupled witness whose weight is multiplied by step_factor at step_gps"""
    step_factor: NonNegativeFloat = 2.0
    """factor on step_witness's weight from step_gps (2 = doubles)"""
    sideband_witness: str | None = None
    """ASC witness that starts to couple (a new bilinear sideband) at step_gps"""
    sideband_weight: NonNegativeFloat = 0.5
    """coupling weight of sideband_witness from step_gps (relative weight)"""
    line_shift: float = Field(0.0, ge=0.0, le=MAX_LINE_SHIFT_HZ)
    """amplitude of the slow shift of the mains frequency, Hz (0 = none)"""
    line_shift_period: PositiveFloat = 4 * HOUR_S
    """period of the mains frequency shift, s"""

    def drift(self) -> Drift:
        """The simulator's :class:`Drift` from these settings."""
        return Drift(
            depth=self.drift_depth,
            period_s=self.drift_period,
            step_gps=self.step_gps,
            step_witness=self.step_witness,
            step_factor=self.step_factor,
            sideband_witness=self.sideband_witness,
            sideband_weight=self.sideband_weight if self.sideband_witness else 0.0,
            line_shift_hz=self.line_shift,
            line_shift_period_s=self.line_shift_period,
        )

    def harmonic_coupling(self) -> tuple[Harmonic, ...]:
        """The harmonics the simulator couples (none with ``harmonics`` off)."""
        return DEMO_HARMONICS if self.harmonics else ()
