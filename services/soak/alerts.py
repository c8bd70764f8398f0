"""The alerts a soak saw, as episodes, and which alert answered each fault.

The alerts come from Prometheus's ``ALERTS`` series, read once at the end of the run over the
whole of it (``query_range``, a 5 s step: :func:`from_prometheus`); while the run goes on the
soak also polls ``/api/v1/alerts`` every 5 s, which is what the report uses when the range
query does not answer. An alert is named by its rule and, for ``ServiceRestarting``, the
service (``ServiceRestarting{service=cleaner}``): each fault is matched with the restart of
the service it hit, not with any restart.

An *episode* is one alert active (pending or firing) without a gap longer than ``GAP`` s
between two samples; it is *resolved* when a sample after its last one no longer listed it. A
fault is *answered* by an episode of one of its expected alerts: the first that starts within
``WINDOW`` s after the injection, else one already active at the injection (Triton already
unreachable, say). Times are seconds since the soak started ``deepclean up``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from deepclean.services.soak.faults import Event, Fault
from deepclean.services.soak.http import get_json

GAP = 20.0  #: s between two samples that still belong to one episode (samples every 5 s)
WINDOW = 300.0  #: s after a fault within which its alert must show
STEP = 5  #: s between the samples of the range query

#: why no alert answers a fault, by design
NONE_BY_DESIGN = {
    Fault.CORRUPT: "none by design: one dropped input second is below every rule",
    Fault.NAN: "none by design: 3 s of raw OUT_DQ are below OutDqRaw's half of 5 minutes",
}


def alert_name(labels: dict[str, str]) -> str:
    """An alert's name in the report: its rule, and the service it names if any."""
    name = labels.get("alertname", "?")
    return f"{name}{{service={labels['service']}}}" if "service" in labels else name


def expected(fault: Fault) -> tuple[str, ...]:
    """The alerts (deploy/prometheus/alerts.yml) that answer ``fault``, the likeliest first:
    a killed service is restarted by ``up`` (``ServiceRestarting``); Triton killed is also
    ``TritonDown`` when it stays away 30 s; a full disk is ``DiskFull`` (< 1 % free, or the cleaner
    skipped a frame), ``DiskNearlyFull`` when it lasts a minute."""
    if fault is Fault.DISK_FULL:
        return ("DiskFull", "DiskNearlyFull")
    if fault.service is None:
        return ()
    restarting = f"ServiceRestarting{{service={fault.service}}}"
    return ("TritonDown", restarting) if fault is Fault.KILL_TRITON else (restarting,)


def from_prometheus(answer: dict | None, to_elapsed: Callable[[float], float]):
    """(time, alert, state) samples from a ``query_range`` answer for ``ALERTS`` (None: no
    answer); ``to_elapsed``: Unix time -> seconds since the start."""
    if not answer or answer.get("status") != "success":
        return None
    samples = []
    for series in answer["data"]["result"]:
        labels = series["metric"]
        name, state = alert_name(labels), labels.get("alertstate", "?")
        samples += [(to_elapsed(float(t)), name, state) for t, _ in series["values"]]
    return sorted(samples)


@dataclass
class Episode:
    name: str
    start: float
    end: float  #: last sample that listed it
    firing: float | None = None  #: first sample that saw it firing
    resolved: bool = False

    def describe(self) -> str:
        fired = "never fired (pending only)" if self.firing is None else f"firing {self.firing:.0f}"
        gone = f"resolved after {self.end:.0f}" if self.resolved else "still active at the end"
        return f"{self.name}: active {self.start:.0f}, {fired}, {gone}"


def episodes(alerts: list[tuple[float, str, str]], polled_until: float) -> list[Episode]:
    """``alerts`` ((time, alert, state) per sample and active alert) as episodes, by start."""
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


def answering(event: Event, found: list[Episode]) -> list[Episode]:
    """The episode of each expected alert that answers ``event`` (see the module docstring)."""
    if event.skipped or event.done is None:
        return []
    chosen = []
    for name in expected(event.fault):
        mine = [e for e in found if e.name == name and e.end >= event.done - STEP]
        after = [e for e in mine if event.done - STEP <= e.start <= event.done + WINDOW]
        during = [e for e in mine if e.start < event.done - STEP]
        if after or during:
            chosen.append((after or during)[0])
    return chosen


def covering(event: Event, found: list[Episode]) -> str:
    """Which alert answered ``event`` (markdown cell)."""
    if event.fault in NONE_BY_DESIGN:
        return NONE_BY_DESIGN[event.fault]
    if event.skipped or event.done is None:
        return "-"
    chosen = answering(event, found)
    if not chosen:
        return f"NOT SEEN ({' or '.join(expected(event.fault))})"
    return "; ".join(e.describe() for e in chosen)


def unanswered(events: list[Event], found: list[Episode]) -> tuple[list[str], list[str]]:
    """The faults none of whose expected alerts fired, and those whose alert fired but had
    not resolved by the end (a run shorter than the alert's window: ``ServiceRestarting``
    looks back 10 minutes)."""
    not_fired, not_resolved = [], []
    for event in events:
        if event.fault in NONE_BY_DESIGN or event.skipped or event.done is None:
            continue
        fired = [e for e in answering(event, found) if e.firing is not None]
        if not fired:
            not_fired.append(event.fault.value)
        elif not any(e.resolved for e in fired):
            not_resolved.append(event.fault.value)
    return not_fired, not_resolved


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table's lines."""
    return [
        "| " + " | ".join(header) + " |",
        "|" + " --- |" * len(header),
        *["| " + " | ".join(row) + " |" for row in rows],
    ]


def alert_lines(
    alerts: list[tuple[float, str, str]], events: list[Event], polled_until: float, source: str
) -> list[str]:
    """The report's alert sections: per fault, and every episode; ``source``: where the
    samples come from."""
    found = episodes(alerts, polled_until)
    not_fired, not_resolved = unanswered(events, found)
    verdict = (
        "every fault that has an alert saw it fire and resolve"
        if not (not_fired or not_resolved)
        else f"no alert fired for: {', '.join(not_fired) or 'none'}; fired but still active "
        f"at the end: {', '.join(not_resolved) or 'none'}"
    )
    at = ["-" if e.done is None else f"{e.done:.0f}" for e in events]
    lines = [f"## Alerts per fault ({source}; s since the start)", "", f"**{verdict}**", ""]
    lines += table(
        ["at (s)", "fault", "alert"],
        [[a, e.fault.value, covering(e, found)] for a, e in zip(at, events, strict=True)],
    )
    rows = [
        [ep.name, f"{ep.start:.0f}", "-" if ep.firing is None else f"{ep.firing:.0f}"]
        + [f"{ep.end:.0f}", "yes" if ep.resolved else "no (still active at the end)"]
        for ep in found
    ]
    lines += ["", "## Every alert episode", ""]
    lines += table(
        ["alert", "active from (s)", "firing from (s)", "last seen (s)", "resolved"], rows
    )
    return [*lines, ""]


def increases(answer: dict | None, label: str) -> list[tuple[float, str]]:
    """(Unix time, the series' ``label``) of every step up of a counter in a ``query_range``
    answer (``deepclean_up_restarts_total`` by ``service``: when ``up`` restarted what)."""
    if not answer or answer.get("status") != "success":
        return []
    found = []
    for series in answer["data"]["result"]:
        values = [(float(t), float(v)) for t, v in series["values"]]
        name = series["metric"].get(label, "?")
        found += [(t, name) for (_, a), (t, b) in zip(values, values[1:]) if b > a]
    return sorted(found)


def history(port: int, elapsed: float):
    """From the Prometheus on ``port``, over the last ``elapsed`` s: the alert samples
    (:func:`from_prometheus`, times since the start; None: no answer) and the restarts
    (:func:`increases` of ``deepclean_up_restarts_total``, Unix times)."""
    now = time.time()

    def series(query: str):
        window = f"start={now - elapsed:.0f}&end={now:.0f}&step={STEP}"
        url = f"http://127.0.0.1:{port}/api/v1/query_range?query={query}&{window}"
        return get_json(url, timeout=30)

    samples = from_prometheus(series("ALERTS"), lambda unix: elapsed - (now - unix))
    return samples, increases(series("deepclean_up_restarts_total"), "service")
