"""The soak report's figures: cleaned-frame latency, and the monitor's in-band ratios with the
promotions and restarts; every fault marked on both. Time axis: seconds after the first
cleaned GPS second."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepclean.services.soak.faults import Event

#: audit actions drawn on the ratio plot, and their colours
DECISIONS = {"promote": "C2", "rollback": "C1", "reject": "C4"}


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, *plt.subplots(figsize=(10, 3.5))


def _mark(ax, t: float, text: str, color: str, style: str = "-") -> None:
    ax.axvline(t, color=color, lw=0.8, ls=style)
    ax.text(t, ax.get_ylim()[1], text, rotation=90, va="top", ha="right", fontsize=7, color=color)


def _faults(ax, events: list[Event], t0: float) -> None:
    for event in events:
        if event.gps_at is not None:
            _mark(ax, event.gps_at - t0, event.fault.value, "C3")


def _save(plt, fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def latency_png(path: Path, latency: dict[int, float], events: list[Event], t0: float) -> None:
    """Latency (s after the second's end) per cleaned second, faults as vertical lines."""
    plt, fig, ax = _figure()
    gps = np.array(sorted(latency))
    ax.plot(gps - t0, [latency[g] for g in gps], ".", ms=2, label="cleaned frame latency")
    _faults(ax, events, t0)
    ax.set_xlabel(f"seconds after GPS {t0:.0f}")
    ax.set_ylabel("latency, s")
    ax.set_title("cleaned frame written, seconds after the end of its GPS second")
    _save(plt, fig, path)


def ratios_png(
    path: Path,
    ratios: list[dict],
    audit: list[dict],
    restarts: list[tuple[float, str]],
    events: list[Event],
    t0: float,
) -> None:
    """The monitor's in-band ASD ratios (production/raw, canary/raw, OUT_DQ/raw) per check;
    promotions, rollbacks and rejections (audit trail, dashed), restarts (``up``'s counter as
    Prometheus scraped it: up to a scrape interval late; dotted) and faults (red) as vertical
    lines."""
    plt, fig, ax = _figure()
    gps = np.array([r["gps"] for r in ratios], float) - t0
    for key, color in (("production_ratio", "C0"), ("canary_ratio", "C1"), ("out_dq_ratio", "k")):
        values = [np.nan if r.get(key) is None else r[key] for r in ratios]
        ax.plot(gps, values, ".-", ms=3, lw=0.6, color=color, label=key.replace("_", " "))
    ax.axhline(1.0, color="grey", lw=0.6)
    ax.set_ylim(0, max(1.3, np.nanmax([*[r["canary_ratio"] or 0 for r in ratios], 1.0]) * 1.1))
    _faults(ax, events, t0)
    for entry in audit:
        if entry.get("action") in DECISIONS:
            label = f"{entry['action']} {entry.get('versions', {})}"
            _mark(ax, entry["gps"] - t0, label, DECISIONS[entry["action"]], "--")
    for gps_restart, service in restarts:
        _mark(ax, gps_restart - t0, f"{service} restart (scraped)", "grey", ":")
    ax.set_xlabel(f"seconds after GPS {t0:.0f}")
    ax.set_ylabel("in-band ASD ratio to raw")
    ax.set_title("monitor checks: in-band ratios; decisions, restarts and faults marked")
    ax.legend(loc="lower left", fontsize=7)
    _save(plt, fig, path)
