"""The soak's alert episodes (from Prometheus's ALERTS series or its polls), and which alert
answered each fault."""

from __future__ import annotations

from deepclean.services.soak.alerts import (
    alert_lines,
    covering,
    episodes,
    from_prometheus,
    increases,
)
from deepclean.services.soak.faults import Event, Fault

RESTARTING_CLEANER = "ServiceRestarting{service=cleaner}"


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
    expected = "NOT SEEN (TritonDown or ServiceRestarting{service=triton})"
    assert covering(late, found) == expected
    assert covering(Event(0, Fault.CORRUPT, done=1.0), found).startswith("none by design")
    skipped = Event(0, Fault.DISK_FULL, done=1.0, skipped=True)
    assert covering(skipped, found) == "-"
    text = "\n".join(alert_lines([], [kill], 500, "polls"))
    assert f"| 95 | kill-triton | {expected} |" in text
    assert "no alert fired for: kill-triton; fired but still active at the end: none" in text
    still = episodes(_polls("TritonDown", 100, 140, firing_from=130), polled_until=141)
    text = "\n".join(alert_lines(_polls("TritonDown", 100, 140, 130), [kill], 141, "polls"))
    assert still[0].resolved is False
    assert "no alert fired for: none; fired but still active at the end: kill-triton" in text


def test_a_fault_is_answered_by_the_restart_of_its_own_service_after_it() -> None:
    """An episode of another service's restart does not count; of two episodes of the right
    alert, the one that starts after the fault does, not one that ended before it."""
    polls = _polls(RESTARTING_CLEANER, 50, 80, firing_from=50)
    polls += _polls("ServiceRestarting{service=monitor}", 200, 260, firing_from=200)
    polls += _polls(RESTARTING_CLEANER, 205, 300, firing_from=205)
    found = episodes(polls, polled_until=400)
    kill = Event(0, Fault.KILL_CLEANER, done=200.0)
    assert (
        covering(kill, found) == f"{RESTARTING_CLEANER}: active 205, firing 205, resolved after 300"
    )
    text = "\n".join(alert_lines(polls, [kill], 400, "polls"))
    assert "every fault that has an alert saw it fire and resolve" in text


def test_triton_killed_names_both_alerts_and_an_earlier_outage_still_active() -> None:
    """Triton already unreachable when it is killed: that episode answers TritonDown."""
    polls = _polls("TritonDown", 90, 160, firing_from=120)
    polls += _polls("ServiceRestarting{service=triton}", 110, 170, firing_from=110)
    kill = Event(0, Fault.KILL_TRITON, done=100.0)
    assert covering(kill, episodes(polls, polled_until=300)) == (
        "TritonDown: active 90, firing 120, resolved after 160; "
        "ServiceRestarting{service=triton}: active 110, firing 110, resolved after 170"
    )


def test_prometheus_range_answers_become_samples_and_restart_times() -> None:
    """ALERTS series carry the service label; a counter's steps up are the restarts."""
    answer = {
        "status": "success",
        "data": {
            "result": [
                {
                    "metric": {
                        "alertname": "ServiceRestarting",
                        "alertstate": "firing",
                        "service": "cleaner",
                    },
                    "values": [[1000, "1"], [1005, "1"]],
                },
                {
                    "metric": {"alertname": "TritonDown", "alertstate": "pending"},
                    "values": [[1002, "1"]],
                },
            ]
        },
    }
    assert from_prometheus(answer, lambda unix: unix - 900) == [
        (100.0, RESTARTING_CLEANER, "firing"),
        (102.0, "TritonDown", "pending"),
        (105.0, RESTARTING_CLEANER, "firing"),
    ]
    assert from_prometheus(None, float) is None
    counter = {
        "status": "success",
        "data": {
            "result": [
                {"metric": {"service": "triton"}, "values": [[10, "0"], [15, "1"], [20, "1"]]},
                {"metric": {"service": "cleaner"}, "values": [[10, "1"], [15, "1"], [20, "2"]]},
            ]
        },
    }
    assert increases(counter, "service") == [(15.0, "triton"), (20.0, "cleaner")]
    assert increases({"status": "error"}, "service") == []
