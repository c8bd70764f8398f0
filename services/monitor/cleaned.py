"""Read one cleaned frame (``utils/products.py`` contract) into what the monitor keeps of it.

Raw strain comes from the cleaned frame itself (``<IFO>:DEEPCLEAN-RAW_STRAIN``), not from
``$DATA_DIR``: it is the exact 4096 Hz series the cleaner subtracted its noise from, after the
cleaner's own resampling, tapers and zero-fills around dropped seconds. Re-reading the 16 kHz
strain and resampling it here would need the cleaner's filter state and padding to be
reproduced sample for sample; any difference (a resampler edge, a taper) would show up in
the ratio as a cleaning artefact. Reading it from the same file also keeps the ratio on
exactly the samples PRODUCTION and CANARY came from, even when the data directory has
been cleaned up, and lets the archive hold raw strain without a second source.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepclean.utils.frames.gwf import read_frame
from deepclean.utils.frames.naming import FrameName
from deepclean.utils.ifo import IFO
from deepclean.utils.monitoring.segment import SecondSummary, summarize_second
from deepclean.utils.products import CLEANED_RATE_HZ, FLAG_RATE_HZ, Flag, Product

SERIES = (
    Product.RAW,
    Product.PRODUCTION,
    Product.CANARY,
    Product.OUT_DQ,
)  #: kept per second, in this order


@dataclass(frozen=True)
class CleanedFrameReading:
    """A cleaned frame as the monitor reads it back: its strain-like series (``SERIES`` order,
    float64) and its summary (the cleaner's own record of a second is
    :class:`deepclean.services.cleaner.pipeline.CleanedSecond`)."""

    gps: int
    series: np.ndarray  #: (len(SERIES), 4096)
    summary: SecondSummary
    mtime: float  #: file modification time, Unix seconds (when the cleaner finished it)

    def get(self, product: Product) -> np.ndarray:
        return self.series[SERIES.index(product)]


def read_cleaned(path: Path, ifo: IFO | str) -> CleanedFrameReading:
    """Read the cleaned frame ``path``; FrameError names the file and the problem."""
    gps = FrameName.parse(path).gps
    rates = {p.channel(ifo): CLEANED_RATE_HZ for p in SERIES}
    rates.update(
        {
            f.channel(ifo): FLAG_RATE_HZ
            for f in (Flag.STATE, Flag.PRODUCTION_VERSION, Flag.CANARY_VERSION)
        }
    )
    mtime = os.stat(path).st_mtime
    channels = read_frame(
        path, list(rates), expected_t0=gps, expected_duration=1.0, expected_rates=rates
    )
    series = np.stack([channels[p.channel(ifo)].data.astype(np.float64) for p in SERIES])
    summary = summarize_second(
        gps,
        channels[Flag.STATE.channel(ifo)].data,
        channels[Flag.PRODUCTION_VERSION.channel(ifo)].data,
        channels[Flag.CANARY_VERSION.channel(ifo)].data,
    )
    return CleanedFrameReading(gps=gps, series=series, summary=summary, mtime=mtime)


@dataclass(frozen=True)
class Segment:
    """The last ``length`` seconds handed to the checker (copies: the loop goes on)."""

    end: int
    length: int
    summaries: dict[int, SecondSummary | None]
    series: dict[int, np.ndarray]  #: gps -> (len(SERIES), 4096) for the seconds read

    def stacked_runs(self, runs: tuple[tuple[int, int], ...]) -> list[np.ndarray]:
        """(len(SERIES), (end - start) * 4096) per run ``(start, end)`` of seconds read."""
        return [
            np.concatenate([self.series[g] for g in range(start, end)], axis=1)
            for start, end in runs
        ]
