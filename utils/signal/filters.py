"""Butterworth band-pass filters as second-order sections, applied with zero phase.

Several bands are cleaned by summing one band-pass per band (as deepclean-prod did); the
bands must not overlap. ``bandpass`` is ``scipy.signal.sosfiltfilt`` along the last axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import signal

FILTER_ORDER = 8  #: Butterworth order of the original DeepClean filters


@dataclass(frozen=True)
class BandpassFilter:
    """Zero-phase Butterworth band-pass over one or more bands.

    Args:
        bands: ``(low, high)`` edges in Hz, ``0 < low < high < sample_rate / 2``, disjoint.
        sample_rate: Hz.
        order: Butterworth order of each band-pass (default 8).
    """

    bands: tuple[tuple[float, float], ...]
    sample_rate: float
    order: int = FILTER_ORDER

    def __post_init__(self) -> None:
        bands = tuple((float(lo), float(hi)) for lo, hi in self.bands)
        object.__setattr__(self, "bands", bands)
        check_bands(bands, self.sample_rate)
        if self.order < 1:
            raise ValueError(f"filter order is {self.order}; it must be >= 1")

    @cached_property
    def sections(self) -> list[np.ndarray]:
        """One SOS array per band (``scipy.signal.butter(..., output="sos")``), designed once
        per filter (a design costs about as much as filtering a few seconds)."""
        return [
            signal.butter(self.order, [lo, hi], btype="bandpass", fs=self.sample_rate, output="sos")
            for lo, hi in self.bands
        ]

    def __call__(self, x: np.ndarray, padlen: int | None = None) -> np.ndarray:
        """Filter ``x`` along its last axis with zero phase (sum over bands), float64.

        ``padlen``: samples of odd-extension padding at each end (``sosfiltfilt``'s default
        when None); it is capped at ``len - 1``.
        """
        return sum_bands(self.per_band(x, padlen))

    def per_band(self, x: np.ndarray, padlen: int | None = None) -> list[np.ndarray]:
        """``x`` filtered with zero phase by each band's filter alone, in the order of
        ``bands`` (float64, each of ``x``'s shape); their sum is ``self(x)``."""
        x = np.asarray(x, dtype=np.float64)
        pad = padlen if padlen is None else min(int(padlen), x.shape[-1] - 1)
        return [signal.sosfiltfilt(sos, x, axis=-1, padlen=pad) for sos in self.sections]


def sum_bands(per_band: list[np.ndarray]) -> np.ndarray:
    """The sum of per-band series, added in band order onto zeros (as the band-pass sums)."""
    out = np.zeros_like(per_band[0])
    for x in per_band:
        out += x
    return out


def check_bands(bands: Sequence[tuple[float, float]], sample_rate: float) -> None:
    """Raise ``ValueError`` naming the band unless every band lies within (0, Nyquist) and
    none overlap."""
    if not bands:
        raise ValueError("no cleaning band given; give at least one (low, high) pair in Hz")
    nyquist = sample_rate / 2
    for lo, hi in bands:
        if not 0 < lo < hi < nyquist:
            raise ValueError(
                f"band {lo}-{hi} Hz is not allowed: need 0 < low < high < Nyquist ({nyquist} Hz)"
            )
    ordered = sorted(bands)
    for (lo1, hi1), (lo2, hi2) in zip(ordered, ordered[1:]):
        if lo2 < hi1:
            raise ValueError(
                f"bands {lo1}-{hi1} Hz and {lo2}-{hi2} Hz overlap; give disjoint bands"
            )


def band_mask(freqs: np.ndarray, bands: Sequence[tuple[float, float]]) -> np.ndarray:
    """Boolean mask of the frequencies (Hz) lying inside any band (edges included)."""
    freqs = np.asarray(freqs)
    mask = np.zeros(freqs.shape, dtype=bool)
    for lo, hi in bands:
        mask |= (freqs >= lo) & (freqs <= hi)
    return mask
