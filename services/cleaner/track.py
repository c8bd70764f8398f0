"""A stretch of one stream indexed by absolute sample number (``gps * sample_rate + i``).

Pieces arrive at arbitrary sample offsets (Triton's noise lags the input by ``lag_samples``)
and are read back by second. Unwritten samples read as zeros with ``ok`` False. Pure numpy.
"""

from __future__ import annotations

import numpy as np


class SampleTrack:
    """Values and a validity mask per absolute sample, stored per whole second.

    Args:
        samples_per_second: samples in one second (4096).
        keep_seconds: seconds kept behind the newest written one (older ones are forgotten).
    """

    def __init__(self, samples_per_second: int, keep_seconds: int = 16) -> None:
        self.n = int(samples_per_second)
        self.keep = int(keep_seconds)
        self._values: dict[int, np.ndarray] = {}
        self._ok: dict[int, np.ndarray] = {}

    def clear(self) -> None:
        self._values.clear()
        self._ok.clear()

    def write(self, start: int, values: np.ndarray, ok: np.ndarray | bool = True) -> None:
        """Store ``values`` at absolute samples ``[start, start + len(values))`` with validity
        ``ok``."""
        values = np.asarray(values, dtype=np.float64)
        ok = np.broadcast_to(np.asarray(ok, dtype=bool), values.shape)
        pos = 0
        while pos < len(values):
            second, offset = divmod(start + pos, self.n)
            take = min(self.n - offset, len(values) - pos)
            if second not in self._values:
                self._values[second] = np.zeros(self.n)
                self._ok[second] = np.zeros(self.n, dtype=bool)
            self._values[second][offset : offset + take] = values[pos : pos + take]
            self._ok[second][offset : offset + take] = ok[pos : pos + take]
            pos += take
        newest = max(self._values)
        for second in [s for s in self._values if s < newest - self.keep]:
            del self._values[second], self._ok[second]

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """``(values, ok)`` of absolute samples ``[start, stop)`` (zeros / False where never
        written)."""
        values = np.zeros(stop - start)
        ok = np.zeros(stop - start, dtype=bool)
        pos = start
        while pos < stop:
            second, offset = divmod(pos, self.n)
            take = min(self.n - offset, stop - pos)
            if second in self._values:
                values[pos - start : pos - start + take] = self._values[second][
                    offset : offset + take
                ]
                ok[pos - start : pos - start + take] = self._ok[second][offset : offset + take]
            pos += take
        return values, ok

    def all_ok(self, start: int, stop: int) -> bool:
        return bool(self.read(start, stop)[1].all())


def window_all(ok: np.ndarray, before: int, after: int) -> np.ndarray:
    """``out[i] = ok[i : i + before + after + 1].all()``: for a mask read from ``before`` samples
    ahead of the first sample of interest to ``after`` samples past the last one, True where
    every sample within ``[-before, +after]`` of that sample is ok (length ``len(ok) - before -
    after``)."""
    bad = np.concatenate([[0], np.cumsum(~np.asarray(ok, dtype=bool))])
    width = before + after + 1
    return (bad[width:] - bad[:-width]) == 0
