"""One channel of a GWF frame: what :mod:`.gwf` writes and reads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Channel:
    """One channel of a frame: samples starting at ``t0`` (GPS seconds) at ``sample_rate`` Hz."""

    name: str
    data: np.ndarray
    sample_rate: float  #: Hz
    t0: float  #: GPS seconds

    @property
    def duration(self) -> float:
        """Seconds covered by the samples."""
        return len(self.data) / self.sample_rate
