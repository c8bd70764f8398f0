"""The soak's report: markdown with a latency plot, every fault marked (``docs/soak/``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepclean.services.soak.faults import Event
from deepclean.services.soak.verify import Verification


def latency_png(path: Path, latency: dict[int, float], events: list[Event]) -> None:
    """Latency (s after the second's end) per cleaned second, faults as vertical lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gps = np.array(sorted(latency))
    fig, ax = plt.subplots(figsize=(10, 3.5))
    if gps.size:
        t0 = gps[0]
        ax.plot(gps - t0, [latency[g] for g in gps], ".", ms=2, label="cleaned frame latency")
        for event in events:
            if event.gps_at is not None:
                ax.axvline(event.gps_at - t0, color="C3", lw=0.8)
                ax.text(
                    event.gps_at - t0,
                    ax.get_ylim()[1],
                    event.fault.value,
                    rotation=90,
                    va="top",
                    ha="right",
                    fontsize=7,
                    color="C3",
                )
        ax.set_xlabel(f"seconds after GPS {t0}")
    ax.set_ylabel("latency, s")
    ax.set_title("cleaned frame written, seconds after the end of its GPS second")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_report(
    path: Path,
    *,
    title: str,
    settings: dict[str, object],
    verification: Verification,
    events: list[Event],
    restarts: list[str],
    alive: dict[str, bool],
    latency: dict[int, float],
    alerts: list[tuple[float, str, str]],
    marks: dict[str, float],
) -> Path:
    """Write ``path`` (markdown) and ``<stem>-latency.png`` beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    png = path.with_name(path.stem + "-latency.png")
    latency_png(png, latency, events)
    values = np.array(list(latency.values())) if latency else np.array([np.nan])
    lines = [
        f"# {title}",
        "",
        "Written by `deepclean soak` (services/soak/); the verification reads the files on disk.",
        "",
        "## Settings",
        "",
        *[f"- {k}: {v}" for k, v in settings.items()],
        *[f"- {k}: {v:.0f} s after start" for k, v in marks.items()],
        "",
        "## Verification",
        "",
        f"**{'PASS' if verification.ok and all(alive.values()) else 'FAIL'}** — "
        + verification.summary(),
        "",
        f"- lost: {verification.lost[:20]}",
        f"- written twice: {verification.rewritten[:20]}",
        f"- carousel/archive mismatches: {verification.mismatched[:20]}",
        f"- NaN in OUT_DQ: {verification.nan[:20]}",
        f"- services running at the end: {alive}",
        f"- latency: median {np.nanmedian(values):.2f} s, 99th percentile "
        f"{np.nanpercentile(values, 99):.2f} s, max {np.nanmax(values):.2f} s "
        f"over {len(latency)} cleaned seconds",
        "",
        f"![latency]({png.name})",
        "",
        "## Faults",
        "",
        "| at (s) | fault | what | back after (s) |",
        "| --- | --- | --- | --- |",
    ]
    for e in events:
        back = "-" if e.recovered is None else f"{e.recovered:.1f}"
        at = "-" if e.done is None else f"{e.done:.0f}"
        lines.append(f"| {at} | {e.fault.value} | {e.detail} | {back} |")
    lines += ["", "## Restarts (up.log)", "", "```", *restarts, "```", ""]
    if alerts:
        end = max(t for t, _, _ in alerts)
        lines += [
            "## Alerts (Prometheus, polled every 5 s)",
            "",
            "| alert | first pending (s) | first firing (s) | last seen (s) | resolved |",
            "| --- | --- | --- | --- | --- |",
        ]
        spans: dict[str, dict[str, float]] = {}
        for t, name, state in alerts:
            seen = spans.setdefault(name, {})
            seen.setdefault(state, t)
            seen["last"] = t
        for name, seen in sorted(spans.items(), key=lambda x: min(x[1].values())):
            cells = [
                "-" if k not in seen else f"{seen[k]:.0f}" for k in ("pending", "firing", "last")
            ]
            resolved = "yes" if seen["last"] < end else "no (still active at the end)"
            lines.append(f"| {name} | {' | '.join(cells)} | {resolved} |")
        lines.append("")
    path.write_text("\n".join(lines) + "\n")
    return path
