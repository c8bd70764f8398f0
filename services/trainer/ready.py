"""Which recent GPS seconds were ready for training, and when the cadence calls for a run.

A second is ready when both frames are good and its state vector has bits 0 and 1 set
throughout (a dropped second is not ready). A run's window is the trailing stretch of at most
``SPAN_FACTOR * train_duration`` seconds once it holds ``train_duration`` ready seconds; the
cadence calls for one at once, then every ``retrain_cadence`` seconds of data after the end of
the previous run (early runs: :mod:`.evidence`).
"""

from __future__ import annotations

from collections import deque

SPAN_FACTOR = 2  #: a run's span is at most this many times train_duration long


class ReadyTracker:
    """Which recent GPS seconds were ready, and whether a training run is due."""

    def __init__(
        self, train_duration: int, retrain_cadence: int, last_end: int | None = None
    ) -> None:
        self.train_duration = train_duration
        self.retrain_cadence = retrain_cadence
        self.last_end = last_end
        self.ready: deque[int] = deque()
        self.latest: int | None = None

    def add(self, gps: int, ready: bool) -> None:
        """Record second ``gps`` (seconds must arrive in increasing order)."""
        if self.latest is not None and gps <= self.latest:
            raise ValueError(f"GPS {gps} arrived after {self.latest}; seconds must increase")
        self.latest = gps
        if ready:
            self.ready.append(gps)
        oldest = gps + 1 - SPAN_FACTOR * self.train_duration
        while self.ready and self.ready[0] < oldest:
            self.ready.popleft()
        while len(self.ready) > self.train_duration:
            self.ready.popleft()

    def window(self) -> tuple[int, int] | None:
        """``(start, end)`` GPS of a run started now, or None while too few seconds are ready."""
        if self.latest is None or len(self.ready) < self.train_duration:
            return None
        return self.ready[0], self.latest + 1

    def due(self) -> tuple[int, int] | None:
        """``(start, end)`` GPS of the run the cadence calls for now, or None."""
        window = self.window()
        if (
            window
            and self.last_end is not None
            and window[1] - self.last_end < self.retrain_cadence
        ):
            return None
        return window

    def started(self, end: int) -> None:
        """A run ending at ``end`` was made (successful or not): wait a cadence for the next."""
        self.last_end = end
