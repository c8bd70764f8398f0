"""Health that tells the truth: worker threads that must be alive, loops that must progress.

A service registers what ``/health`` must judge in a :class:`Liveness`:

- **threads** (:meth:`Liveness.thread`): a worker thread that has died is a problem;
- **progress** (:class:`Progress`): work arrives (:meth:`Progress.arrived`) and is completed
  (:meth:`Progress.done`); when work has been waiting longer than the deadline with nothing
  completed (input frames arriving but no cleaned frame written; cleaned frames arriving but
  no check finished) it is a problem. No work arriving is not one (the detector may be down);
- **heartbeats** (:class:`Heartbeat`): a loop that must complete a cycle at least every
  ``deadline`` seconds, whatever arrives.

A service without HTTP (the trainer) writes a :class:`HeartbeatFile` instead, from its loop
and from inside training (before every batch); its compose healthcheck judges the file's age.

:meth:`Liveness.problems` lists each problem as one line; ``/health`` answers 503 with them,
200 when there is none. Only the clock is read here (``time.monotonic``, injectable).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

Clock = Callable[[], float]


class Progress:
    """Work waiting longer than ``deadline`` s with nothing done is a problem named ``what``."""

    def __init__(self, what: str, deadline: float, *, clock: Clock = time.monotonic) -> None:
        if deadline <= 0:
            raise ValueError(f"deadline of {what!r} must be > 0 s, got {deadline}")
        self.what, self.deadline, self.clock = what, float(deadline), clock
        self.waiting_since: float | None = (
            None  #: when the oldest work not yet followed by a done arrived
        )
        self.last_done: float | None = None
        self.note: str | None = (
            None  #: why nothing is done, when the service knows (e.g. disk full)
        )
        self._lock = threading.Lock()

    def arrived(self) -> None:
        with self._lock:
            if self.waiting_since is None:
                self.waiting_since = self.clock()

    def done(self) -> None:
        with self._lock:
            self.waiting_since, self.last_done, self.note = None, self.clock(), None

    def problem(self) -> str | None:
        with self._lock:
            if self.waiting_since is None:
                return None
            waited = self.clock() - self.waiting_since
            if waited <= self.deadline:
                return None
            note = f" ({self.note})" if self.note else ""
            return f"{self.what} for {waited:.0f} s (deadline {self.deadline:g} s){note}"


class Heartbeat:
    """A loop that must :meth:`beat` at least every ``deadline`` s, named ``what``."""

    def __init__(self, what: str, deadline: float, *, clock: Clock = time.monotonic) -> None:
        if deadline <= 0:
            raise ValueError(f"deadline of {what!r} must be > 0 s, got {deadline}")
        self.what, self.deadline, self.clock = what, float(deadline), clock
        self.last = clock()

    def beat(self) -> None:
        self.last = self.clock()

    def age(self) -> float:
        return self.clock() - self.last

    def problem(self) -> str | None:
        age = self.age()
        if age <= self.deadline:
            return None
        return f"{self.what}: no cycle completed for {age:.0f} s (deadline {self.deadline:g} s)"


class Liveness:
    """The threads, progress trackers and heartbeats one ``/health`` judges."""

    def __init__(self) -> None:
        self._threads: dict[str, threading.Thread] = {}
        self._checks: list[Progress | Heartbeat] = []
        self._lock = threading.Lock()

    def thread(self, name: str, thread: threading.Thread) -> threading.Thread:
        """Watch ``thread`` (once started, it must stay alive); returns it."""
        with self._lock:
            self._threads[name] = thread
        return thread

    def add(self, check: Progress | Heartbeat) -> Progress | Heartbeat:
        with self._lock:
            self._checks.append(check)
        return check

    def problems(self) -> list[str]:
        """One line per problem; empty when healthy."""
        with self._lock:
            threads, checks = dict(self._threads), list(self._checks)
        out = [
            f"worker thread {name} has died"
            for name, t in threads.items()
            if t.ident is not None and not t.is_alive()
        ]
        out += [p for p in (c.problem() for c in checks) if p is not None]
        return out


class HeartbeatFile:
    """A liveness file for a service without HTTP (the trainer): ``beat()`` rewrites ``path``
    (JSON: pid, Unix time, what it is doing) at most every ``min_interval`` s, by a rename, so
    its modification time says when the loop last went round. ``deepclean wait-for --file PATH
    --max-age S`` (the compose healthcheck) judges it. Not fsynced: it only matters while the
    machine runs."""

    def __init__(self, path: Path, *, min_interval: float = 5.0) -> None:
        self.path = Path(path)
        self.min_interval = min_interval
        self._last = -float("inf")

    def beat(self, doing: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.min_interval:
            return
        self._last = now
        body = {"pid": os.getpid(), "unix_s": round(time.time(), 3), "doing": doing}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(body) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:  # a full disk must not stop the service; the file just ages
            logger.debug("heartbeat %s not written: %s", self.path, exc)
