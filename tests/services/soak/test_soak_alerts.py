"""The soak's alert episodes from Prometheus polls, and which alert answered each fault."""

from __future__ import annotations

from deepclean.services.soak.alerts import alert_lines, covering, episodes
from deepclean.services.soak.faults import Event, Fault


def _polls(name: str, start: float, end: float, firing_from: float | None = None):
    t, out = start, []
    while t <= end:
        state = "firing" if firing_from is not None and t >= firing_from else "pending"
        out.append((t, name, state))
        t += 5
    return out


def test_episodes_split_at_gaps_and_resolve_only_when_a_later_poll_missed_them() -> None:
    polls = _polls("TritonDown", 100, 140, firing_from=130) + _polls("TritonDown", 300, 330)
    polls += _polls("ServiceRestarting", 105, 400, firing_from=105)
    found = episodes(polls, polled_until=400)
    assert [(e.name, e.start, e.firing, e.end, e.resolved) for e in found] == [
        ("TritonDown", 100, 130, 140, True),
        ("ServiceRestarting", 105, 105, 400, False),
        ("TritonDown", 300, None, 330, True),
    ]


def test_each_fault_names_its_alert_or_why_none() -> None:
    found = episodes(_polls("TritonDown", 100, 140, firing_from=130), polled_until=500)
    kill = Event(90, Fault.KILL_TRITON, done=95.0)
    assert covering(kill, found) == "TritonDown: active 100, firing 130, resolved after 140"
    late = Event(400, Fault.KILL_TRITON, done=400.0)
    assert covering(late, found) == "NOT SEEN (TritonDown)"
    assert covering(Event(0, Fault.CORRUPT, done=1.0), found).startswith("none by design")
    skipped = Event(0, Fault.DISK_FULL, done=1.0, skipped=True)
    assert covering(skipped, found) == "-"
    text = "\n".join(alert_lines([], [kill], polled_until=500))
    assert "| 95 | kill-triton | NOT SEEN (TritonDown) |" in text
