"""Triton sequence (correlation) ids unique per client process, so streams never collide.

Triton keys a sequence's slot and state by its correlation id alone: two clients that both
number their sequences 1, 2, ... on one server take over each other's sequences ("sequence
... has a conflict"), and the first one's cleaning falls back to raw strain. Each
:class:`SequenceIds` therefore draws its ids from a block of its own, derived from the IFO,
the process id and the start time, within Triton's uint64 correlation-id range and below
2**63 (tritonclient's gRPC request carries the id as an ``int64_param``)::

    bit 62..60  IFO (its position in the IFO enum + 1: never 0)
    bit 59..38  process id (22 bits: Linux's largest pid_max, 4194304)
    bit 37..14  start time, Unix seconds mod 2**24 (~194 days)
    bit 13..0   a counter, shared by every SequenceIds of the process, wrapping in 2**14

Two cleaners on one machine differ by pid; two in two containers (both possibly pid 1)
differ by IFO, or else by start second; two in one process (tests) differ by the counter.
Pure arithmetic except :func:`next_id`'s shared counter.
"""

from __future__ import annotations

import itertools
import os
import threading
import time

from deepclean.utils.ifo import IFO

IFO_BITS, PID_BITS, TIME_BITS, COUNTER_BITS = 3, 22, 24, 14
MAX_ID = (1 << 63) - 1  #: largest id handed out

_counter = itertools.count(0)
_counter_lock = threading.Lock()


def sequence_base(ifo: IFO | str, pid: int, unix_seconds: float) -> int:
    """The id block of a client: every bit but the counter's (see the module docstring)."""
    ifo_index = list(IFO).index(IFO(ifo)) + 1
    if ifo_index >= 1 << IFO_BITS:
        raise ValueError(f"IFO {ifo} has index {ifo_index}, beyond {IFO_BITS} bits")
    pid_part = int(pid) & ((1 << PID_BITS) - 1)
    time_part = int(unix_seconds) & ((1 << TIME_BITS) - 1)
    return (
        (ifo_index << (PID_BITS + TIME_BITS + COUNTER_BITS))
        | (pid_part << (TIME_BITS + COUNTER_BITS))
        | (time_part << COUNTER_BITS)
    )


def with_counter(base: int, count: int) -> int:
    """``base`` with the low bits set to ``count`` (wrapping); always in ``[1, MAX_ID]``."""
    return base | (int(count) & ((1 << COUNTER_BITS) - 1))


def next_count() -> int:
    """The process-wide counter (thread-safe)."""
    with _counter_lock:
        return next(_counter)


class SequenceIds:
    """Correlation ids for one client: :meth:`next` gives a fresh one per sequence started."""

    def __init__(
        self, ifo: IFO | str, *, pid: int | None = None, unix_seconds: float | None = None
    ) -> None:
        self.base = sequence_base(
            ifo,
            os.getpid() if pid is None else pid,
            time.time() if unix_seconds is None else unix_seconds,
        )

    def next(self) -> int:
        return with_counter(self.base, next_count())
