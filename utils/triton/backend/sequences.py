"""Per-sequence state of a Triton python-backend model, keyed by the correlation id (CORRID).

Pure Python; copied beside the snapshotter's and aggregator's ``model.py`` as
``deepclean_sequences.py``. Triton's sequence batcher routes every request of a sequence to the
same model instance and slot; the instance keeps one state object per live sequence here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

State = TypeVar("State")


class SequenceError(ValueError):
    """A request does not fit the sequence it claims to belong to."""


class SequenceStates(Generic[State]):
    """State objects of the live sequences of one model instance.

    Args:
        factory: makes a fresh state for a sequence that starts.
        capacity: sequences one instance can hold at once (its sequence slots); when a new
            sequence starts and the table is full, the least recently used state is dropped
            (its sequence can only have been abandoned: Triton gives a slot to one sequence).
    """

    def __init__(self, factory: Callable[[], State], capacity: int = 1) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 sequence, got {capacity}")
        self.factory = factory
        self.capacity = capacity
        self._states: OrderedDict[int, State] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, corrid: int) -> bool:
        return corrid in self._states

    def get(self, corrid: int, *, start: bool) -> State:
        """The state of sequence ``corrid``; a fresh one when ``start`` is set."""
        if start:
            self._states.pop(corrid, None)
            while len(self._states) >= self.capacity:
                self._states.popitem(last=False)
            self._states[corrid] = self.factory()
        elif corrid not in self._states:
            raise SequenceError(
                f"sequence {corrid} has no state in this model instance (it never started "
                "here, or the "
                "model was reloaded); restart it with the sequence start flag"
            )
        self._states.move_to_end(corrid)
        return self._states[corrid]

    def end(self, corrid: int) -> None:
        """Forget sequence ``corrid`` (its last request was processed)."""
        self._states.pop(corrid, None)
