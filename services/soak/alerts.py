"""The alerts a soak saw (Prometheus's ``/api/v1/alerts``, polled every 5 s) as episodes, and
which alert answers each fault.

An *episode* is one alert active (pending or firing) without a gap longer than ``GAP`` s
between two polls; it is *resolved* when a poll after its last one no longer listed it. A fault
is *covered* by the first episode of its expected alert that is active within ``WINDOW`` s
after the injection (one already active from an earlier fault counts: ``ServiceRestarting``
looks back 10 minutes). Times are seconds since the soak started ``deepclean up``.
"""

from __future__ import annotations

from dataclasses import dataclass

from deepclean.services.soak.faults import Event, Fault

GAP = 20.0  #: s between two polls that still belong to one episode (polls every 5 s)
WINDOW = 300.0  #: s after a fault within which its alert must show

#: the alert rule (deploy/prometheus/alerts.yml) that should answer each fault; None: none by
#: design, with the reason
EXPECTED: dict[Fault, tuple[str, ...] | str] = {
    Fault.KILL_TRITON: ("TritonDown",),
    Fault.KILL_CLEANER: ("ServiceRestarting",),
    Fault.KILL_EXPORTER: ("ServiceRestarting",),
    Fault.KILL_EXPORTER_PROMOTING: ("ServiceRestarting",),
    Fault.KILL_MONITOR: ("ServiceRestarting",),
    Fault.RESTART_MONITOR: ("ServiceRestarting",),
    Fault.DISK_FULL: ("DiskFull", "DiskNearlyFull"),
    Fault.CORRUPT: "none by design: one dropped input second is below every rule",
    Fault.NAN: "none by design: 3 s of raw OUT_DQ are below OutDqRaw's half of 5 minutes",
}


@dataclass
class Episode:
    name: str
    start: float
    end: float  #: last poll that listed it
    firing: float | None = None  #: first poll that saw it firing
    resolved: bool = False


def episodes(alerts: list[tuple[float, str, str]], polled_until: float) -> list[Episode]:
    """``alerts`` ((time, alert, state) per poll and active alert) as episodes, by start."""
    open_: dict[str, Episode] = {}
    done: list[Episode] = []
    for t, name, state in sorted(alerts):
        ep = open_.get(name)
        if ep is not None and t - ep.end > GAP:
            ep.resolved = True
            done.append(ep)
            ep = None
        if ep is None:
            ep = open_[name] = Episode(name, t, t)
        ep.end = t
        if state == "firing" and ep.firing is None:
            ep.firing = t
    for ep in open_.values():
        ep.resolved = polled_until - ep.end > GAP / 2
        done.append(ep)
    return sorted(done, key=lambda e: e.start)


def covering(event: Event, found: list[Episode]) -> str:
    """Which alert answered ``event`` (markdown cell)."""
    expected = EXPECTED.get(event.fault)
    if isinstance(expected, str) or expected is None:
        return expected or "-"
    if event.skipped or event.done is None:
        return "-"
    for ep in found:
        if ep.name in expected and ep.start <= event.done + WINDOW and ep.end >= event.done:
            fired = "never fired (pending only)" if ep.firing is None else f"firing {ep.firing:.0f}"
            resolved = f"resolved after {ep.end:.0f}" if ep.resolved else "still active at the end"
            return f"{ep.name}: active {ep.start:.0f}, {fired}, {resolved}"
    return f"NOT SEEN ({' or '.join(expected)})"


def alert_lines(
    alerts: list[tuple[float, str, str]], events: list[Event], polled_until: float
) -> list[str]:
    """The report's alert sections: per fault, and every episode."""
    found = episodes(alerts, polled_until)
    lines = [
        "## Alerts per fault (Prometheus, polled every 5 s; s since the start)",
        "",
        "| at (s) | fault | alert |",
        "| --- | --- | --- |",
    ]
    for e in events:
        at = "-" if e.done is None else f"{e.done:.0f}"
        lines.append(f"| {at} | {e.fault.value} | {covering(e, found)} |")
    lines += [
        "",
        "## Every alert episode",
        "",
        "| alert | active from (s) | firing from (s) | last seen (s) | resolved |",
        "| --- | --- | --- | --- | --- |",
    ]
    for ep in found:
        firing = "-" if ep.firing is None else f"{ep.firing:.0f}"
        resolved = "yes" if ep.resolved else "no (still active at the end)"
        lines.append(f"| {ep.name} | {ep.start:.0f} | {firing} | {ep.end:.0f} | {resolved} |")
    return [*lines, ""]
