"""Figures shared by the cleaning benchmarks: per-band ASD ratios, BNS range, offline OUT_DQ.

- :func:`harmonic_bands`: the bands the witnesses explain on the demo detector (the line and
  its 2nd and 3rd harmonics, +/- 2 Hz);
- :func:`band_ratios`: mean ASD(a)/ASD(b) per band (Welch, Hann, 2 s, half overlap);
- :func:`bns_range_mpc`: gwpy's ``inspiral_range`` (1.4-1.4 Msun, SNR 8, from 15 Hz;
  :mod:`deepclean.utils.signal.range`) of a Welch PSD (Hann, 4 s, half overlap, median);
- :func:`range_gains`: the range of raw, cleaned and background strain and the gain of
  cleaning as a fraction of what removing all coupled noise (background) gives;
- :func:`offline_out_dq`: OUT_DQ as the streaming cleaner makes it, from raw and fully
  cleaned strain second by second through one OUT_DQ gate per band
  (:class:`~deepclean.utils.signal.outdq_bands.BandGates`), the removed noise split by band
  with :func:`split_by_band`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import signal

from deepclean.utils.signal.asd_ratios import asd_ratio
from deepclean.utils.signal.outdq_bands import BandGates
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


def split_by_band(x: np.ndarray, fs: float, bands) -> list[np.ndarray]:
    """``x`` cut in frequency into one series per band: each frequency goes to the band whose
    centre is nearest (one FFT of ``x`` followed by its mirror image, so that the ends do not
    jump). The series sum to ``x``; for noise band-passed per band (all its power near its
    band) each is that band's noise, to ~1e-4 of it away from the first and last second."""
    mirrored = np.concatenate([x, x[::-1]])
    spectrum = np.fft.rfft(mirrored)
    freqs = np.fft.rfftfreq(len(mirrored), 1 / fs)
    centres = np.array([(lo + hi) / 2 for lo, hi in bands])
    nearest = np.argmin(np.abs(freqs[:, None] - centres[None, :]), axis=1)
    return [
        np.fft.irfft(np.where(nearest == k, spectrum, 0), len(mirrored))[: len(x)]
        for k in range(len(bands))
    ]


def offline_out_dq(raw: np.ndarray, cleaned: np.ndarray, fs: float, bands) -> np.ndarray:
    """OUT_DQ of whole seconds with the cleaner's per-band gates:
    ``raw - sum_b gate_b * removed_b``, ``removed = raw - cleaned`` split by band."""
    n = int(round(fs))
    seconds = len(raw) // n
    removed = split_by_band(np.asarray(raw - cleaned, dtype=np.float64), fs, bands)
    gates = BandGates(fs, bands, bands)
    out = np.array(raw[: seconds * n], dtype=np.float64)
    for k in range(seconds):
        s = slice(k * n, (k + 1) * n)
        noise = [r[s] for r in removed]
        out[s] = gates.push(raw[s], noise).out_dq(raw[s], noise)
    return out
