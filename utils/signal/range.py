"""The binary-neutron-star (BNS) inspiral range: the figure detector characterisation watches.

``bns_range_mpc`` is gwpy's ``inspiral_range`` (the ``inspiral-range`` package underneath:
sky- and orientation-averaged, cosmologically corrected distance at which a 1.4 + 1.4 M_sun
inspiral reaches SNR 8 in one detector) of a one-sided PSD (1/Hz). Frequencies from
``f_min_hz`` (default 15 Hz, where the simulated detector's seismic wall ends) to the top of
the PSD; bins where the PSD is zero or not finite are left out. Pure: arrays in, Mpc out.
"""

from __future__ import annotations

import logging

import numpy as np
from gwpy.astro import inspiral_range  # imported once here: it takes seconds (astropy)
from gwpy.frequencyseries import FrequencySeries

#: the inspiral-range package logs every call at INFO ("waveform generation with cached
#: waveform..."): four lines per monitor check say nothing
logging.getLogger("inspiral_range").setLevel(logging.WARNING)

BNS_MASS_MSUN = 1.4  #: each neutron star
RANGE_SNR = 8.0  #: detection threshold of the range's definition
RANGE_F_MIN_HZ = 15.0


def bns_range_mpc(freqs_hz: np.ndarray, psd: np.ndarray, f_min_hz: float = RANGE_F_MIN_HZ) -> float:
    """BNS inspiral range (Mpc) of the PSD ``psd`` (1/Hz) sampled at ``freqs_hz`` (uniform)."""
    freqs, psd = np.asarray(freqs_hz, dtype=float), np.asarray(psd, dtype=float)
    if len(freqs) < 2 or len(freqs) != len(psd):
        raise ValueError(f"PSD of {len(psd)} bins at {len(freqs)} frequencies: need >= 2, equal")
    good = np.isfinite(psd) & (psd > 0)
    if not np.any(good & (freqs >= f_min_hz)):
        raise ValueError(f"PSD has no positive finite bin above {f_min_hz} Hz: no range")
    series = FrequencySeries(np.where(good, psd, np.inf), f0=freqs[0], df=freqs[1] - freqs[0])
    return float(
        inspiral_range(
            series, snr=RANGE_SNR, mass1=BNS_MASS_MSUN, mass2=BNS_MASS_MSUN, fmin=f_min_hz
        ).value
    )


def range_gain(cleaned_mpc: float, raw_mpc: float) -> float:
    """Relative gain of the range by cleaning (0.01 = +1 %)."""
    return cleaned_mpc / raw_mpc - 1.0
