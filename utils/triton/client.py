"""Stream updates through ``deepclean-stream`` over one gRPC stream, one sequence id per data
stream.

Each update is one request with ``sequence_id``; the first carries ``sequence_start`` (the server
state of the sequence starts from zeros), the last may carry ``sequence_end``. Responses come back
on the stream's callback thread; :class:`StreamClient` files them by request id and hands them out
in order, checking that the server counted the same update index as the client.

Keep one update of a stream in flight at a time when DeepClean versions may change underneath
(:mod:`deepclean.utils.triton.versions`); several streams may be interleaved freely.

A client that gives up on a sequence (its answer came too late, the server went away) calls
:meth:`StreamClient.abandon`: the sequence is ended on the server with one last update whose
answer is discarded, so its slot is free for the next sequence at once (a streaming model has
one slot per instance; an abandoned, never-ended sequence would hold it until the idle timeout).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from deepclean.utils.errors import DeepCleanError, ServerUnavailableError
from deepclean.utils.triton.names import ENSEMBLE, UPDATE, UPDATE_INDEX

_REQUEST_ID = re.compile(r"\[request id: ([^\]]+)\]")


class StreamError(DeepCleanError):
    """The server answered an update with an error, or with an update it should not have."""


@dataclass(frozen=True)
class UpdateResult:
    """The ensemble's answer to one update."""

    sequence_id: int
    index: int  #: update number within the sequence, from 0
    outputs: dict[str, np.ndarray]  #: ensemble outputs, e.g. ``noise_production`` (stride*batch,)
    latency: float  #: seconds from sending the update to receiving its answer


class StreamClient:
    """A gRPC stream to one Triton server; use as a context manager.

    Args:
        url: gRPC address ``host:port``.
        model: the ensemble to stream through.
        timeout: seconds to wait for an answer before raising :class:`StreamError`.
        connect_timeout: seconds allowed for the readiness check when the stream opens.
    """

    def __init__(
        self,
        url: str,
        *,
        model: str = ENSEMBLE,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.url, self.model, self.timeout, self.connect_timeout = (
            url,
            model,
            timeout,
            connect_timeout,
        )
        self._client = grpcclient.InferenceServerClient(url)
        self._broken = False
        self._done: dict[str, tuple[object, float]] = {}
        self._sent: dict[str, float] = {}
        self._next: dict[int, int] = {}
        self._stray: list[str] = []
        self._cond = threading.Condition()
        self._open = False

    def __enter__(self) -> StreamClient:
        try:
            if not self._client.is_model_ready(self.model, client_timeout=self.connect_timeout):
                raise ServerUnavailableError(
                    f"model {self.model} is not ready on Triton at {self.url}"
                )
        except InferenceServerException as exc:
            raise ServerUnavailableError(f"cannot reach Triton at {self.url}: {exc}") from exc
        self._client.start_stream(callback=self._callback)
        self._open = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def broken(self) -> bool:
        """True once the stream reported an error not tied to an update (e.g. the server went
        away)."""
        return self._broken

    @property
    def client(self) -> grpcclient.InferenceServerClient:
        """The underlying tritonclient client (for config and health queries)."""
        return self._client

    def close(self) -> None:
        if self._open:
            self._client.stop_stream(cancel_requests=True)
            self._open = False
        self._client.close()

    def _callback(self, result, error) -> None:
        now = time.perf_counter()
        with self._cond:
            if error is not None:
                match = _REQUEST_ID.search(str(error))
                if match is None:  # not about one update: the stream itself failed
                    self._stray.append(str(error))
                    self._broken = True
                elif match.group(1) in self._sent:
                    self._done[match.group(1)] = (error, now)
                # else: the late answer of an abandoned update (or of an end request): dropped
            else:
                request_id = result.get_response().id
                if request_id in self._sent:
                    self._done[request_id] = (result, now)
            self._cond.notify_all()

    def send(
        self, sequence_id: int, update: np.ndarray, *, start: bool = False, end: bool = False
    ) -> int:
        """Send one update ``(W, samples)`` of sequence ``sequence_id`` (>= 1); return its index."""
        if not self._open:
            raise StreamError("the stream is not open: use StreamClient as a context manager")
        if sequence_id < 1:
            raise ValueError(f"sequence_id must be >= 1 (0 means no sequence), got {sequence_id}")
        if start:
            self._next[sequence_id] = 0
        elif sequence_id not in self._next:
            raise StreamError(
                f"sequence {sequence_id} was never started: send its first update with start=True"
            )
        index = self._next[sequence_id]
        data = np.ascontiguousarray(update, dtype=np.float32)[None]
        if data.ndim != 3:
            raise ValueError(f"update has shape {np.shape(update)}, expected (channels, samples)")
        request_id = f"{sequence_id}/{index}"
        self._sent[request_id] = time.perf_counter()
        self._stream_update(data, request_id, sequence_id, sequence_start=start, sequence_end=end)
        self._next[sequence_id] = index + 1
        if end:
            del self._next[sequence_id]
        return index

    def _stream_update(
        self, data: np.ndarray, request_id: str, sequence_id: int, **flags: bool
    ) -> None:
        """Put ``data`` ``(1, W, samples)`` float32 on the stream as update ``request_id`` of
        sequence ``sequence_id``; ``flags``: ``sequence_start``, ``sequence_end``."""
        request = grpcclient.InferInput(UPDATE, list(data.shape), "FP32")
        request.set_data_from_numpy(data)
        self._client.async_stream_infer(
            self.model, [request], request_id=request_id, sequence_id=sequence_id, **flags
        )

    def abandon(self, sequence_id: int, update_shape: tuple[int, int]) -> None:
        """Give up sequence ``sequence_id``: forget its pending answers and end it on the server
        with one zero update of ``update_shape`` ``(W, samples)`` whose answer is discarded.
        Never raises (a server that is gone has no sequence to end)."""
        with self._cond:
            prefix = f"{sequence_id}/"
            for table in (self._sent, self._done):
                for request_id in [r for r in table if r.startswith(prefix)]:
                    del table[request_id]
            self._next.pop(sequence_id, None)
        request_id = f"end/{sequence_id}"  # never in _sent: its answer is dropped
        if not self._open:
            return
        zeros = np.zeros((1, *update_shape), dtype=np.float32)
        try:  # noqa: SIM105
            self._stream_update(zeros, request_id, sequence_id, sequence_end=True)
        except Exception:  # noqa: BLE001 - best effort: the stream may be broken already
            pass

    def result(self, sequence_id: int, index: int, timeout: float | None = None) -> UpdateResult:
        """Wait for the answer to update ``index`` of ``sequence_id``."""
        request_id = f"{sequence_id}/{index}"
        if request_id not in self._sent:
            raise StreamError(
                f"update {index} of sequence {sequence_id} was not sent (or was already collected)"
            )
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._cond:
            while request_id not in self._done:
                if self._stray:
                    raise StreamError(f"Triton at {self.url}: {self._stray.pop(0)}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StreamError(
                        f"no answer to update {index} of sequence {sequence_id} within the timeout"
                    )
                self._cond.wait(left)
            answer, received = self._done.pop(request_id)
            sent = self._sent.pop(request_id)
        if isinstance(answer, Exception):
            raise StreamError(f"update {index} of sequence {sequence_id}: {answer}")
        outputs = {
            o.name: answer.as_numpy(o.name).reshape(-1) for o in answer.get_response().outputs
        }
        served = outputs.pop(UPDATE_INDEX, None)
        if served is not None and int(served[0]) != index:
            raise StreamError(
                f"sequence {sequence_id}: the server counted update {int(served[0])} where "
                f"the client sent {index} "
                "(an update was lost or the sequence restarted on the server)"
            )
        return UpdateResult(sequence_id, index, outputs, received - sent)

    def infer(
        self, sequence_id: int, update: np.ndarray, *, start: bool = False, end: bool = False
    ) -> UpdateResult:
        """Send one update and wait for its answer."""
        return self.result(sequence_id, self.send(sequence_id, update, start=start, end=end))


def stream_updates(
    client: StreamClient, sequence_id: int, updates: Iterable[np.ndarray], *, end: bool = True
) -> list[UpdateResult]:
    """Run a whole sequence, one update in flight at a time; the last update ends the sequence if
    ``end``."""
    updates = list(updates)
    return [
        client.infer(sequence_id, update, start=(i == 0), end=end and i == len(updates) - 1)
        for i, update in enumerate(updates)
    ]


def concatenate(results: Iterable[UpdateResult]) -> dict[str, np.ndarray]:
    """Join the per-update outputs of one sequence into whole streams."""
    results = list(results)
    if not results:
        return {}
    return {name: np.concatenate([r.outputs[name] for r in results]) for name in results[0].outputs}
