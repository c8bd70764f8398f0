"""The report's figures (matplotlib Agg, no display): SNR per injection, range over time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

COLORS = {"raw": "0.45", "production": "tab:blue", "canary": "tab:orange", "out_dq": "tab:green"}
MARKERS = {"bbh": "o", "bns": "s", "sine_gaussian": "^"}


def snr_png(report: dict[str, Any], path: Path) -> Path:
    """Matched-filter SNR of every injection: cleaned (y) against raw (x), one marker per class."""
    fig = Figure(figsize=(6, 5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    top = 1.0
    for result in report["injections"]:
        series = result.get("series", {})
        raw = series.get("raw", {})
        if raw.get("status") != "ok":
            continue
        for name in ("production", "out_dq", "canary"):
            s = series.get(name, {})
            if s.get("status") == "ok":
                ax.scatter(
                    raw["snr"],
                    s["snr"],
                    marker=MARKERS.get(result["kind"], "o"),
                    color=COLORS[name],
                    label=f"{name}, {result['kind']}",
                )
                top = max(top, raw["snr"], s["snr"])
    ax.plot([0, top * 1.1], [0, top * 1.1], color="k", lw=0.8, ls=":", label="cleaned = raw")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=8)
    ax.set_xlabel("matched-filter SNR in raw strain")
    ax.set_ylabel("matched-filter SNR in cleaned strain")
    ax.set_title(f"injections, GPS {report['span'][0]}-{report['span'][1]}")
    FigureCanvasAgg(fig).print_png(str(path))
    return path


def range_png(report: dict[str, Any], path: Path) -> Path:
    """BNS range of every series over time."""
    fig = Figure(figsize=(7, 3.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    rng = report["range"]
    t0 = report["span"][0]
    for name, values in rng["over_time_mpc"].items():
        pts = [(t - t0, v) for t, v in zip(rng["times"], values) if v is not None]
        if pts:
            ax.plot(*zip(*pts), marker=".", color=COLORS.get(name), label=name)
    ax.set_xlabel(f"seconds after GPS {t0}")
    ax.set_ylabel("BNS range (Mpc)")
    ax.legend(fontsize=8)
    FigureCanvasAgg(fig).print_png(str(path))
    return path
