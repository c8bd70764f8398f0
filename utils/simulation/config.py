"""What defines the simulated data besides the GPS time: :class:`DetectorConfig`.

The physics each field controls is described in :mod:`deepclean.utils.simulation.detector`
(coupling), :mod:`~deepclean.utils.simulation.mains` (the line),
:mod:`~deepclean.utils.simulation.drift` (changes in time) and
:mod:`~deepclean.utils.simulation.harmonics` (coupling at the line's harmonics).
"""

from __future__ import annotations

from dataclasses import dataclass

from deepclean.utils.ifo import IFO
from deepclean.utils.simulation import channels as ch
from deepclean.utils.simulation.drift import Drift
from deepclean.utils.simulation.harmonics import Harmonic, check_harmonics


@dataclass(frozen=True)
class DetectorConfig:
    """Everything that defines the simulated data besides the GPS time. Frequencies in Hz."""

    ifo: IFO = IFO.H1
    seed: int = 0
    line_frequency_hz: float = 60.0
    witnesses: tuple[str, ...] = ()  #: names without IFO prefix; empty = the IFO's defaults
    couplings: tuple[tuple[str, float], ...] = tuple(
        ch.DEFAULT_COUPLINGS.items()
    )  #: (witness, weight)
    bilinear_asd_ratio: float = 20.0  #: mean ASD(bilinear)/ASD(background) over line +/- 2 Hz
    linear_amplitude: float = 50.0  #: linear line amplitude / ASD_background(line), sqrt(Hz)
    coupling_phase_rad: float = 0.7
    mains_amplitude: float = 100.0  #: counts
    mains_noise_asd: float = 1e-4  #: mains sensor noise ASD / mains amplitude, 1/sqrt(Hz)
    asc_noise_asd: float = 1e-3  #: ASC sensor noise ASD / witness RMS, 1/sqrt(Hz)
    amplitude_wander: float = 0.05  #: total relative depth of the mains amplitude wander
    frequency_wander_hz: float = 0.004  #: total excursion of the mains frequency wander, Hz
    asc_filter_s: int = 8  #: length of the ASC colouring filter, s
    drift: Drift = Drift()  #: how the coupling changes with time (none by default)
    harmonics: tuple[Harmonic, ...] = ()  #: coupling at the line's harmonics (none by default)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ifo", IFO(self.ifo))
        if not self.witnesses:
            object.__setattr__(self, "witnesses", tuple(ch.default_witnesses(self.ifo)))
        object.__setattr__(self, "witnesses", tuple(sorted(self.witnesses)))
        problems = []
        if ch.MAINS not in self.witnesses:
            problems.append(f"witnesses must include the mains monitor {ch.MAINS}")
        for name, weight in self.couplings:
            if name not in self.witnesses or name == ch.MAINS:
                problems.append(f"coupled witness {name} is not an ASC witness of the list")
            if not weight >= 0:
                problems.append(f"coupling weight {weight} of {name} must be >= 0")
        if len(set(self.witnesses)) != len(self.witnesses):
            problems.append(f"witness list has duplicates: {sorted(self.witnesses)}")
        if not 10.0 <= self.line_frequency_hz <= 200.0:
            problems.append(f"line frequency {self.line_frequency_hz} Hz is outside 10-200 Hz")
        if self.seed < 0:
            problems.append(f"seed {self.seed} must be >= 0")
        if self.bilinear_asd_ratio < 0 or self.linear_amplitude < 0:
            problems.append("bilinear_asd_ratio and linear_amplitude must be >= 0")
        asc = [w for w in self.witnesses if w != ch.MAINS]
        problems += self.drift.check_witnesses([n for n, _ in self.couplings], asc)
        nyquist = ch.native_rate(ch.MAINS) / 2
        problems += check_harmonics(self.harmonics, self.line_frequency_hz, nyquist)
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def coupling_map(self) -> dict[str, float]:
        return dict(self.couplings)

    def channel_list(self) -> list[str]:
        """Strain first, then the witnesses sorted, with IFO prefixes."""
        return ch.channel_list(self.ifo, self.witnesses)

    def rates(self) -> dict[str, int]:
        """Native sample rate (Hz) of every witness, by full channel name."""
        return {ch.full_name(self.ifo, w): ch.native_rate(w) for w in self.witnesses}
