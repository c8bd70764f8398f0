"""Amplitude spectral densities (ASDs) of the simulated detector, as functions of frequency.

``background_asd`` is a smooth LIGO-like strain noise curve: a steep seismic wall below
~15 Hz (levelling off below 5 Hz at ~1e-18/sqrt(Hz)), suspension/control noise falling as f^-2
through the bucket, and shot noise that is flat up to ~400 Hz and rises as f above. Values:
~4e-21/sqrt(Hz) at 10 Hz, ~1.2e-23 at 60 Hz, ~7e-24 in the 100-300 Hz bucket, ~1.6e-23 at 1 kHz.

``AngularSpectrum`` is the shape of an angular-control (ASC) witness: flat from ~0.1 Hz
with a mild resonance, cut off steeply above ~2 Hz, so that a 60 Hz line modulated by it
has sidebands inside 58-62 Hz and nothing outside ~55-65 Hz.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEISMIC_FLOOR_HZ = 5.0  #: below this frequency the background ASD levels off (Hz)


def background_asd(freqs_hz: np.ndarray) -> np.ndarray:
    """One-sided strain ASD (1/sqrt(Hz)) of the simulated background at ``freqs_hz`` (Hz).

    The seismic wall (f^-8) levels off smoothly below :data:`SEISMIC_FLOOR_HZ` at ~1e-18;
    keeping the curve free of kinks keeps FIR realisations of it accurate in the bucket."""
    f = np.maximum(np.abs(np.asarray(freqs_hz, dtype=np.float64)), 1e-3)
    seismic = 1.5e-22 * (15.0 / f) ** 8 / np.sqrt(1.0 + (SEISMIC_FLOOR_HZ / f) ** 16)
    suspension = 1.5e-23 * (50.0 / np.maximum(f, SEISMIC_FLOOR_HZ)) ** 2
    shot = 6.0e-24 * np.sqrt(1.0 + (f / 400.0) ** 2)
    return np.sqrt(seismic**2 + suspension**2 + shot**2)


@dataclass(frozen=True)
class AngularSpectrum:
    """Shape of an ASC witness ASD (unnormalised; the noise generator normalises it).

    A flat plateau plus a second-order resonance at ``resonance_hz`` (quality factor
    ``quality``), a second-order high-pass at ``highpass_hz`` and a Butterworth-like
    low-pass of order ``lowpass_order`` at ``lowpass_hz``. Frequencies in Hz.
    """

    resonance_hz: float = 1.0
    quality: float = 2.0
    lowpass_hz: float = 2.2
    lowpass_order: int = 8
    highpass_hz: float = 0.05
    plateau: float = 0.7  #: level of the flat part relative to the resonance's low-frequency level

    def __post_init__(self) -> None:
        if not 0 < self.highpass_hz < self.resonance_hz < self.lowpass_hz:
            raise ValueError(
                f"AngularSpectrum needs 0 < highpass_hz < resonance_hz < lowpass_hz, got "
                f"{self.highpass_hz}, {self.resonance_hz}, {self.lowpass_hz} Hz"
            )

    def asd(self, freqs_hz: np.ndarray) -> np.ndarray:
        """Relative ASD at ``freqs_hz`` (Hz); zero at DC."""
        f = np.abs(np.asarray(freqs_hz, dtype=np.float64))
        x = f / self.resonance_hz
        resonance = 1.0 / np.sqrt((1.0 - x**2) ** 2 + (x / self.quality) ** 2)
        lowpass = 1.0 / np.sqrt(1.0 + (f / self.lowpass_hz) ** (2 * self.lowpass_order))
        h = (f / self.highpass_hz) ** 2
        highpass = h / np.sqrt(1.0 + h**2)
        return (self.plateau + resonance) * lowpass * highpass
