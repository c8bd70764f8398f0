"""When ``deepclean up`` starts a crashed service again (pure: no processes, no clock).

The policy of compose's ``restart: unless-stopped`` with a backoff: a service that exits for
any reason while ``up`` is not stopping is started again, after ``initial`` seconds for the
first crash of a streak, doubling per crash up to ``maximum`` seconds; a run that lasted
``reset_after`` seconds or more ends the streak (the next crash waits ``initial`` again).
Nothing is given up on: a service whose settings are wrong crashes every ``maximum`` seconds
and says why in its log, as under compose.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """Seconds to wait before a restart: ``initial * factor**(streak - 1)``, at most ``maximum``."""

    initial: float = 1.0  #: seconds before the first restart of a streak
    factor: float = 2.0  #: growth per further crash in the streak
    maximum: float = 30.0  #: seconds, the longest wait
    reset_after: float = 60.0  #: seconds a run must last for its crash to start a new streak

    def __post_init__(self) -> None:
        if not (0 <= self.initial <= self.maximum) or self.factor < 1 or self.reset_after < 0:
            raise ValueError(
                f"backoff initial={self.initial} s, factor={self.factor}, "
                f"maximum={self.maximum} s, "
                f"reset_after={self.reset_after} s: need 0 <= initial <= maximum, factor >= 1, "
                "reset_after >= 0"
            )

    def delay(self, streak: int) -> float:
        """Seconds to wait before restarting after the ``streak``-th crash in a row (1, 2, ...)."""
        if streak < 1:
            raise ValueError(f"streak {streak}: the crashes in a row count from 1")
        return min(self.maximum, self.initial * self.factor ** min(streak - 1, 64))


@dataclass
class ServiceRestarts:
    """One service's restart bookkeeping: how many restarts in all, the current streak and when
    (on the caller's monotonic clock, seconds) it is due to start again."""

    backoff: Backoff
    restarts: int = 0  #: restarts so far (what ``deepclean_up_restarts_total`` counts)
    streak: int = 0  #: crashes in a row, each after a run shorter than ``reset_after``
    due: float | None = None  #: when to start it again; None while it runs
    started: float = 0.0  #: when its current (or last) run started
    history: list[float] = field(default_factory=list)  #: waits chosen, seconds

    def exited(self, now: float) -> float:
        """Record an exit at ``now``; return the seconds to wait before the restart."""
        ran = now - self.started
        self.streak = 1 if ran >= self.backoff.reset_after else self.streak + 1
        wait = self.backoff.delay(self.streak)
        self.due = now + wait
        self.history.append(wait)
        return wait

    def is_due(self, now: float) -> bool:
        return self.due is not None and now >= self.due

    def restarted(self, now: float) -> None:
        """Record that it was started again at ``now``."""
        self.restarts += 1
        self.due = None
        self.started = now
