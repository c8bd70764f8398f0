"""Seeded fault decisions: dropped frames, partial writes, the analysis-ready state vector.

Every decision is a pure function of ``(seed, kind, stream, GPS second)`` through a hash,
so a second's faults do not depend on where a run started and tests can predict them.

* dropped: the frame file of a stream is never written (``drop_rate``, or listed GPS);
* partial: the file appears in pieces, truncated at first (``partial_rate``);
* not ready: the 16 Hz state vector is :data:`NOT_READY` (bit 0 only) instead of
  :data:`READY` (bits 0 and 1) in random blocks of ``not_ready_length`` seconds (a block
  is not ready with probability ``not_ready_rate``) and in explicit GPS spans (sample
  resolution 1/16 s).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from deepclean.services.simulate.settings import SimulateSettings, Stream
from deepclean.utils.config import parameters_from
from deepclean.utils.frames.naming import READY_BITS, STATE_RATE_HZ

READY = READY_BITS  #: state vector value while analysis-ready (bits 0 and 1 set)
NOT_READY = 0b01  #: state vector value while not analysis-ready (data valid, not ready)


def uniform(seed: int, kind: str, index: int) -> float:
    """A deterministic number in [0, 1) for ``(seed, kind, index)``."""
    digest = hashlib.blake2b(f"{seed}:{kind}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2**64


@dataclass(frozen=True)
class FaultPlan:
    """Which faults hit which GPS second; rates are fractions in [0, 1)."""

    seed: int = 0
    drop_rate: float = 0.0
    drop_streams: frozenset[Stream] = frozenset(Stream)
    drop_gps: frozenset[int] = frozenset()
    partial_rate: float = 0.0
    not_ready_rate: float = 0.0
    not_ready_length: int = 8  #: seconds per random not-ready block
    not_ready_spans: tuple[tuple[float, float], ...] = field(default=())  #: GPS (start, end)

    @classmethod
    def from_settings(cls, settings: SimulateSettings) -> FaultPlan:
        return parameters_from(
            cls,
            settings,
            drop_streams=frozenset(settings.drop_streams),
            drop_gps=frozenset(settings.drop_gps),
            not_ready_spans=tuple(settings.spans()),
        )

    def dropped(self, stream: Stream, gps: int) -> bool:
        """Whether the frame of ``stream`` at ``gps`` is never written."""
        if stream not in self.drop_streams:
            return False
        return gps in self.drop_gps or uniform(self.seed, f"drop-{stream}", gps) < self.drop_rate

    def partial(self, stream: Stream, gps: int) -> bool:
        """Whether the frame of ``stream`` at ``gps`` is written in pieces (never if dropped)."""
        return (
            not self.dropped(stream, gps)
            and uniform(self.seed, f"partial-{stream}", gps) < self.partial_rate
        )

    def state_vector(self, gps: int) -> np.ndarray:
        """The 16 int32 state-vector samples of GPS second ``gps``."""
        n = int(STATE_RATE_HZ)
        state = np.full(n, READY, dtype=np.int32)
        block = gps // self.not_ready_length
        if self.not_ready_rate > 0 and uniform(self.seed, "not-ready", block) < self.not_ready_rate:
            state[:] = NOT_READY
        times = gps + np.arange(n) / STATE_RATE_HZ
        for start, end in self.not_ready_spans:
            state[(times >= start) & (times < end)] = NOT_READY
        return state

    def dropped_seconds(self, stream: Stream, gps_seconds: Iterable[int]) -> list[int]:
        """The seconds among ``gps_seconds`` whose ``stream`` frame is dropped."""
        return [g for g in gps_seconds if self.dropped(stream, g)]
