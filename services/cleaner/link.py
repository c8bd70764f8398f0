"""The cleaner's connection to Triton: served configs, one gRPC stream, sequences, never blocking
long.

:class:`TritonLink` re-reads the served configs every ``poll_seconds`` (a promotion changes the
versions), streams each second of witnesses as ``stride * batch``-sample updates, one in
flight at a time (so a live promotion never reorders updates), and gives up on a second when
its answers are not all back within ``grace`` seconds of sending it. After a failure it
abandons the sequence (ended on the server so the slot frees at once), waits a backoff
(``backoff`` doubling up to ``backoff_max`` seconds) during which every second is answered
with None at once, then starts a new sequence id (on the same gRPC stream if it is healthy,
else on a new connection). Sequence ids come from a block unique to this process and IFO
(:mod:`deepclean.utils.triton.sequence_ids`), so cleaners sharing a Triton never collide. The
caller writes raw strain for every None.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from tritonclient.utils import InferenceServerException

from deepclean.services.cleaner.pipeline import Answer
from deepclean.utils.errors import DeepCleanError
from deepclean.utils.ifo import IFO
from deepclean.utils.triton.client import StreamClient
from deepclean.utils.triton.names import Role
from deepclean.utils.triton.sequence_ids import SequenceIds
from deepclean.utils.triton.served import ServedStream, fetch_served

logger = logging.getLogger(__name__)


class TritonLink:
    """See the module docstring. ``url``: gRPC ``host:port``; ``ifo``: the detector cleaned
    (part of the sequence ids)."""

    def __init__(
        self,
        url: str,
        *,
        ifo: IFO | str = IFO.H1,
        grace: float = 1.0,
        backoff: float = 1.0,
        backoff_max: float = 30.0,
        poll_seconds: float = 2.0,
        connect_timeout: float = 1.0,
    ) -> None:
        self.url, self.grace, self.backoff, self.backoff_max = url, grace, backoff, backoff_max
        self.poll_seconds, self.connect_timeout = poll_seconds, connect_timeout
        self.client: StreamClient | None = None
        self.served: ServedStream | None = None
        self.sequence_ids = SequenceIds(ifo)
        self.sequence_id = 0  #: the current sequence's id (0: none started yet)
        self.sequence_start: int | None = None
        self.next_sample: int | None = None
        self.failures = 0
        self.retry_at = 0.0
        self.last_poll = -float("inf")
        self.last_latency = 0.0  #: seconds Triton took for the last second answered

    @property
    def connected(self) -> bool:
        return self.client is not None and self.sequence_start is not None and self.failures == 0

    # ------------------------------------------------------------------ configs
    def poll(self, force: bool = False) -> ServedStream | None:
        """The served stream, re-read when ``poll_seconds`` have passed (last known one if
        unreachable)."""
        now = time.monotonic()
        if not force and (now - self.last_poll < self.poll_seconds or now < self.retry_at):
            return self.served
        self.last_poll = now
        try:
            if self.client is None:
                self._connect()
            served = fetch_served(self.client.client, timeout=self.connect_timeout)
        except DeepCleanError as exc:
            if (
                self.connected
            ):  # e.g. the ensemble reloading during a promotion: the stream itself is fine
                logger.info("could not re-read the served configs (%s); keeping the stream", exc)
            else:
                self._fail(f"served configs: {exc}")
            return self.served
        if (
            self.served is None
            or served.versions != self.served.versions
            or not served.same_stream(self.served)
        ):
            logger.info(
                "Triton serves %d witnesses, geometry %s, production %d, canary %d",
                len(served.witnesses),
                served.geometry,
                served.versions[Role.PRODUCTION],
                served.versions[Role.CANARY],
            )
        self.served = served
        return served

    def _connect(self) -> None:
        client = StreamClient(self.url, timeout=self.grace, connect_timeout=self.connect_timeout)
        try:
            client.__enter__()
        except BaseException:
            client.close()
            raise
        self.client = client

    # ------------------------------------------------------------------ streaming
    def infer(self, witnesses: np.ndarray, first_sample: int) -> Answer | None:
        """Noise for one second of witnesses ``(W, n)`` starting at absolute sample
        ``first_sample``."""
        if time.monotonic() < self.retry_at or self.served is None:
            return None
        geometry = self.served.geometry
        if witnesses.shape[0] != len(self.served.witnesses):
            return None
        try:
            if self.client is None:
                self._connect()
            start = first_sample != self.next_sample or self.sequence_start is None
            if start:
                self.sequence_id = self.sequence_ids.next()
                self.sequence_start = first_sample
            deadline = time.monotonic() + self.grace
            began = time.perf_counter()
            outputs: dict[Role, list[np.ndarray]] = {role: [] for role in Role}
            size = geometry.update_size
            for i in range(0, witnesses.shape[1], size):
                index = self.client.send(
                    self.sequence_id, witnesses[:, i : i + size], start=start and i == 0
                )
                result = self.client.result(
                    self.sequence_id, index, timeout=max(deadline - time.monotonic(), 1e-3)
                )
                for role in Role:
                    outputs[role].append(result.outputs[f"noise_{role}"])
        except (DeepCleanError, InferenceServerException, KeyError, ValueError) as exc:
            self._fail(
                f"sample {first_sample} (GPS {first_sample / witnesses.shape[1]:.0f}): {exc}"
            )
            return None
        if self.failures:
            logger.info("Triton at %s answers again (sequence %d)", self.url, self.sequence_id)
        self.failures = 0
        self.last_latency = time.perf_counter() - began
        self.next_sample = first_sample + witnesses.shape[1]
        return Answer(
            {role: np.concatenate(parts) for role, parts in outputs.items()}, self.sequence_start
        )

    def _fail(self, why: str) -> None:
        self.failures += 1
        delay = min(self.backoff * 2 ** (self.failures - 1), self.backoff_max)
        self.retry_at = time.monotonic() + delay
        if self.failures == 1:
            logger.warning(
                "Triton at %s: %s; writing raw strain, retrying in %.3g s", self.url, why, delay
            )
        else:
            logger.info(
                "Triton at %s still unavailable (%d tries): %s; next try in %.3g s",
                self.url,
                self.failures,
                why,
                delay,
            )
        self._drop_sequence()

    def _drop_sequence(self) -> None:
        """Abandon the sequence; keep a healthy stream (its end request then precedes the next
        sequence's start on the same stream, so the server's slot is free for it), close a broken
        one."""
        client = self.client
        self.sequence_start = self.next_sample = None
        if client is None:
            return
        if client.broken:
            client.close()
            self.client = None
        elif self.sequence_id and self.served is not None:
            client.abandon(
                self.sequence_id, (len(self.served.witnesses), self.served.geometry.update_size)
            )

    def close(self) -> None:
        """End the current sequence on the server and close the stream."""
        if self.client is not None:
            if (
                self.sequence_start is not None
                and self.served is not None
                and not self.client.broken
            ):
                self.client.abandon(
                    self.sequence_id, (len(self.served.witnesses), self.served.geometry.update_size)
                )
                time.sleep(0.2)  # let the end request leave before the stream is cancelled
            self.client.close()
            self.client = None
