"""Figures shared by the cleaning benchmarks: per-band ASD ratios, BNS range, offline OUT_DQ.

- :func:`harmonic_bands`: the bands the witnesses explain on the demo detector (the line and
  its 2nd and 3rd harmonics, +/- 2 Hz);
- :func:`band_ratios`: mean ASD(a)/ASD(b) per band (Welch, Hann, 2 s, half overlap);
- :func:`bns_range_mpc`: gwpy's ``inspiral_range`` (1.4-1.4 Msun, SNR 8, from 15 Hz;
  :mod:`deepclean.utils.signal.range`) of a Welch PSD (Hann, 4 s, half overlap, median);
- :func:`range_gains`: the range of raw, cleaned and background strain and the gain of
  cleaning as a fraction of what removing all coupled noise (background) gives;
- :func:`offline_out_dq`: OUT_DQ as the streaming cleaner makes it, from raw and fully
  cleaned strain second by second through :class:`~deepclean.utils.signal.outdq.OutDqGate`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import signal

from deepclean.utils.signal.asd_ratios import asd_ratio
from deepclean.utils.signal.outdq import OutDqGate
from deepclean.utils.signal.range import bns_range_mpc as range_mpc

RANGE_FFTLENGTH_S = 4.0  #: Welch segment for the range PSD, s


def harmonic_bands(line_hz: float, orders: Sequence[int] = (1, 2, 3), half_width_hz: float = 2.0):
    """``[(k f0 - w, k f0 + w)]`` for each order k (Hz)."""
    return [(k * line_hz - half_width_hz, k * line_hz + half_width_hz) for k in orders]


def band_ratios(a: np.ndarray, b: np.ndarray, fs: float, bands) -> dict[str, float]:
    """Mean ASD(a)/ASD(b) in each band, keyed ``"<low>-<high>Hz"``."""
    return {f"{lo:g}-{hi:g}Hz": asd_ratio(a, b, fs, [(lo, hi)]) for lo, hi in bands}


def bns_range_mpc(x: np.ndarray, fs: float) -> float:
    """BNS inspiral range (Mpc) of strain ``x`` sampled at ``fs`` Hz: the monitor's
    :func:`~deepclean.utils.signal.range.bns_range_mpc` (from 15 Hz) of a Welch PSD (Hann,
    4 s, half overlap, median average)."""
    nper = int(RANGE_FFTLENGTH_S * fs)
    freqs, psd = signal.welch(
        x, fs=fs, window="hann", nperseg=nper, noverlap=nper // 2, average="median"
    )
    return range_mpc(freqs, psd)


def range_gains(raw: np.ndarray, background: np.ndarray, fs: float, **cleaned) -> dict:
    """Ranges (Mpc) of raw, background and each ``cleaned`` stream, their gains over raw (%)
    and each gain as a fraction of the background's (the possible gain)."""
    r_raw, r_bg = bns_range_mpc(raw, fs), bns_range_mpc(background, fs)
    possible = r_bg / r_raw - 1
    out = {"raw_mpc": r_raw, "background_mpc": r_bg, "possible_gain_pct": 100 * possible}
    for name, x in cleaned.items():
        r = bns_range_mpc(x, fs)
        out[f"{name}_mpc"] = r
        out[f"{name}_gain_pct"] = 100 * (r / r_raw - 1)
        out[f"{name}_fraction_of_possible"] = (r / r_raw - 1) / possible if possible else None
    return out


def offline_out_dq(raw: np.ndarray, cleaned: np.ndarray, fs: float, bands) -> np.ndarray:
    """OUT_DQ of whole seconds: ``raw - gate * (raw - cleaned)`` with the cleaner's gate."""
    n = int(round(fs))
    seconds = len(raw) // n
    gate = OutDqGate(fs, bands)
    out = np.array(raw[: seconds * n], dtype=np.float64)
    for k in range(seconds):
        s = slice(k * n, (k + 1) * n)
        g = gate.push(raw[s], cleaned[s]).gate
        out[s] = raw[s] - g * (raw[s] - cleaned[s])
    return out
