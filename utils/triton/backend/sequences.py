"""Per-sequence state of a Triton python-backend model, keyed by the correlation id (CORRID),
and :class:`SequenceModel`, what the snapshotter and the aggregators share: reading their
config, one answer per request, the sequence controls.

Pure Python; copied beside the snapshotter's and aggregator's ``model.py`` as
``deepclean_sequences.py``. Triton's sequence batcher routes every request of a sequence to the
same model instance and slot; the instance keeps one state object per live sequence here.
``triton_python_backend_utils`` exists only inside the Triton server, so it is imported where a
request is handled, never at import time (this module stays importable, and tested, without it).
"""

from __future__ import annotations

import json
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


def control(request, name: str):
    """The value of the sequence control ``name`` (``START``, ``END`` or ``CORRID``) of a Triton
    request; ``ValueError`` if the request carries none (it was sent without a sequence id)."""
    import triton_python_backend_utils as pb_utils

    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        raise ValueError(f"request has no sequence control {name}: send it with a sequence id")
    return tensor.as_numpy().reshape(-1)[0]


class SequenceModel:
    """Base of a stateful python-backend model (``TritonPythonModel``).

    :meth:`initialize` reads the config: ``self.name``, ``self.parameters`` (its string
    parameters) and ``self.streams``, one state from :meth:`new_state` per live sequence (as many
    as the config's sequence slots). :meth:`execute` answers every request with
    :meth:`answer` on its sequence's state, forgetting the state after the sequence's last
    request; a request that fails gets an error response naming the model, and the other
    requests of its batch are still answered.
    """

    def initialize(self, args) -> None:
        config = json.loads(args["model_config"])
        self.name = config["name"]
        self.parameters = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        slots = max(1, int(config.get("max_batch_size", 0)))
        self.streams = SequenceStates(self.new_state, capacity=slots)

    def new_state(self):
        """The state of a sequence that starts."""
        raise NotImplementedError

    def answer(self, request, corrid: int, state):
        """The ``InferenceResponse`` to ``request`` of sequence ``corrid``, updating the
        sequence's ``state``."""
        raise NotImplementedError

    def execute(self, requests):
        import triton_python_backend_utils as pb_utils

        responses = []
        for request in requests:
            try:
                responses.append(self._one(request))
            except Exception as exc:  # one bad request must not fail the others of the batch
                responses.append(
                    pb_utils.InferenceResponse(error=pb_utils.TritonError(f"{self.name}: {exc}"))
                )
        return responses

    def _one(self, request):
        corrid = int(control(request, "CORRID"))
        state = self.streams.get(corrid, start=bool(control(request, "START")))
        response = self.answer(request, corrid, state)
        if control(request, "END"):
            self.streams.end(corrid)
        return response
