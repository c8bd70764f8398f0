"""The soak's report: markdown with a latency plot, every fault marked (``docs/soak/``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepclean.services.soak.alerts import alert_lines
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
    polled_until: float | None = None,
) -> Path:
    """Write ``path`` (markdown) and ``<stem>-latency.png`` beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    png = path.with_name(path.stem + "-latency.png")
    latency_png(png, latency, events)
    values = np.array(list(latency.values())) if latency else np.array([np.nan])
    passed = verification.ok and all(alive.values()) and all(e.ok for e in events)
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
        f"**{'PASS' if passed else 'FAIL'}** — " + verification.summary(),
        "",
        f"- lost: {verification.lost[:20]}",
        f"- not writable while the disk was full (excused): {verification.unwritable[:80]}",
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
        "| at (s) | fault | what | back after (s) | outcome |",
        "| --- | --- | --- | --- | --- |",
    ]
    for e in events:
        back = "-" if e.recovered is None else f"{e.recovered:.1f}"
        at = "-" if e.done is None else f"{e.done:.0f}"
        outcome = "skipped" if e.skipped else "ok" if e.ok else "FAILED"
        lines.append(f"| {at} | {e.fault.value} | {e.detail} | {back} | {outcome} |")
    lines += ["", "## Restarts (up.log)", "", "```", *restarts, "```", ""]
    if polled_until is not None:
        lines += alert_lines(alerts, events, polled_until)
    path.write_text("\n".join(lines) + "\n")
    return path
