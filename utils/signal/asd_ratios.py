"""ASD ratios that say how well a stretch was cleaned.

``asd_ratio(a, b, ...)`` is the mean over the frequency bins inside the given band(s) of
ASD(a) / ASD(b), with Welch ASDs (Hann, ``fftlength`` s, half overlap, mean average).
``cleaning_report`` gathers the figures of ``report.json``: cleaned/raw in band and out of
band (20-50 Hz and 70-200 Hz by default, leaving out the bins within
:data:`OUT_OF_BAND_GUARD_HZ` of a cleaning band, so a band at 120 Hz is not counted as "out
of band"), and cleaned/background in band when the background (the simulator's truth) is
known.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deepclean.utils.signal import welch
from deepclean.utils.signal.filters import band_mask

DEFAULT_FFTLENGTH_S = 2.0  #: seconds per Welch segment for reported ASDs
OUT_OF_BAND = ((20.0, 50.0), (70.0, 200.0))  #: Hz; cleaning must leave these alone
#: Hz: out-of-band figures leave out bins this close to a cleaning band (the band-pass margin
#: and its transition belong to the band)
OUT_OF_BAND_GUARD_HZ = 2.0


def asd(
    x: np.ndarray, sample_rate: float, fftlength: float = DEFAULT_FFTLENGTH_S
) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (Hz) and one-sided ASD (units / sqrt(Hz)) of ``x`` along its last axis
    (mean-averaged Welch, :func:`deepclean.utils.signal.welch.asd`)."""
    return welch.asd(x, sample_rate, fftlength)


def asd_ratio(
    a: np.ndarray,
    b: np.ndarray,
    sample_rate: float,
    bands: Sequence[tuple[float, float]],
    fftlength: float = DEFAULT_FFTLENGTH_S,
    *,
    average: welch.Average | str = welch.Average.MEAN,
) -> float:
    """Mean over the bins inside ``bands`` of ASD(a) / ASD(b); ``a`` and ``b`` the same samples'
    times (Welch periodograms averaged by ``average``: mean, or median)."""
    freqs, asd_a, asd_b = _asds(a, b, sample_rate, fftlength, average)
    return band_ratio(asd_a, asd_b, freqs, bands)


def _asds(
    a: np.ndarray,
    b: np.ndarray,
    sample_rate: float,
    fftlength: float,
    average: welch.Average | str = welch.Average.MEAN,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frequencies (Hz), ASD(a) and ASD(b) of two series of the same shape."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(
            f"series of shapes {a.shape} and {b.shape} cannot be compared; need equal lengths"
        )
    freqs, asds = welch.asd(np.stack([a, b]), sample_rate, fftlength, average)
    return freqs, asds[0], asds[1]


def _mean_ratio(asd_a: np.ndarray, asd_b: np.ndarray, mask: np.ndarray, empty: str) -> float:
    """Mean of ``asd_a / asd_b`` over the bins of ``mask``; ``ValueError(empty)`` if none."""
    if not mask.any():
        raise ValueError(empty)
    return float(np.mean(asd_a[mask] / np.maximum(asd_b[mask], np.finfo(float).tiny)))


def band_ratio(
    asd_a: np.ndarray, asd_b: np.ndarray, freqs: np.ndarray, bands: Sequence[tuple[float, float]]
) -> float:
    """Mean over the bins of ``freqs`` (Hz) inside ``bands`` of ``asd_a / asd_b``."""
    step = freqs[1] - freqs[0] if len(freqs) > 1 else float("nan")
    empty = f"no frequency bin (resolution {step} Hz) inside bands {list(bands)}"
    return _mean_ratio(asd_a, asd_b, band_mask(freqs, bands), empty)


def out_of_band_ratio(
    a: np.ndarray,
    b: np.ndarray,
    sample_rate: float,
    span: tuple[float, float],
    bands: Sequence[tuple[float, float]],
    fftlength: float = DEFAULT_FFTLENGTH_S,
    guard_hz: float = OUT_OF_BAND_GUARD_HZ,
) -> float:
    """Mean ASD(a)/ASD(b) over the bins of ``span`` (Hz) farther than ``guard_hz`` from every
    cleaning band in ``bands``."""
    freqs, asd_a, asd_b = _asds(a, b, sample_rate, fftlength)
    near = band_mask(freqs, [(lo - guard_hz, hi + guard_hz) for lo, hi in bands])
    empty = f"out-of-band span {span} Hz lies inside the cleaning bands {list(bands)}"
    return _mean_ratio(asd_a, asd_b, band_mask(freqs, [span]) & ~near, empty)


def cleaning_report(
    raw: np.ndarray,
    cleaned: np.ndarray,
    sample_rate: float,
    bands: Sequence[tuple[float, float]],
    background: np.ndarray | None = None,
    fftlength: float = DEFAULT_FFTLENGTH_S,
    out_of_band: Sequence[tuple[float, float]] = OUT_OF_BAND,
) -> dict[str, float | dict[str, float] | None]:
    """The figures of ``report.json``:

    ``in_band_ratio`` (cleaned/raw over ``bands``), ``out_of_band_ratio`` (one entry per
    out-of-band range, key ``"<low>-<high>Hz"``, the bins near ``bands`` left out),
    ``background_ratio`` (cleaned/background in band, or None without a background), and
    ``raw_background_ratio`` (raw/background); with several bands also
    ``in_band_ratio_per_band`` and ``background_ratio_per_band`` (key ``"<low>-<high>Hz"``).
    """
    report: dict[str, float | dict[str, float] | None] = {
        "in_band_ratio": asd_ratio(cleaned, raw, sample_rate, bands, fftlength),
        "out_of_band_ratio": {
            f"{lo:g}-{hi:g}Hz": out_of_band_ratio(
                cleaned, raw, sample_rate, (lo, hi), bands, fftlength
            )
            for lo, hi in out_of_band
        },
        "background_ratio": None,
        "raw_background_ratio": None,
    }
    if background is not None:
        report["background_ratio"] = asd_ratio(cleaned, background, sample_rate, bands, fftlength)
        report["raw_background_ratio"] = asd_ratio(raw, background, sample_rate, bands, fftlength)
    if len(bands) > 1:
        per_band = {"in_band_ratio_per_band": raw}
        if background is not None:
            per_band["background_ratio_per_band"] = background
        for key, reference in per_band.items():
            report[key] = {
                f"{lo:g}-{hi:g}Hz": asd_ratio(
                    cleaned, reference, sample_rate, [(lo, hi)], fftlength
                )
                for lo, hi in bands
            }
    return report
