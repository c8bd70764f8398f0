"""The figures of a drift report (matplotlib, Agg): ratios over simulated hours with every
training, export, promotion, rejection and the step marked; per band against the truth."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from drift_analysis import VersionRow  # noqa: E402
from drift_records import Records  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

COLORS = {"raw": "0.5", "production": "tab:blue", "canary": "tab:orange", "out_dq": "tab:green"}


def _events(ax, rec: Records, rows: list[VersionRow]) -> None:
    """The step (black dashed), promotions (green) and rejections (red) as vertical lines."""
    if rec.step_gps is not None:
        ax.axvline(rec.hours(rec.step_gps), color="k", ls="--", lw=1.2)
    for row in rows:
        if row.promoted is not None:
            ax.axvline(rec.hours(row.promoted), color="tab:green", lw=0.8, alpha=0.6)
        if row.rejected is not None:
            ax.axvline(rec.hours(row.rejected), color="tab:red", lw=0.8, alpha=0.8)


def _timeline(ax, rec: Records, rows: list[VersionRow]) -> None:
    """Per version: its training data (thin), training and export (thick, from the end of its
    data to the export; purple: a run started early), exported (triangle), promoted (star) or
    rejected (cross)."""
    for row in rows:
        y = row.version
        if row.start is not None:
            ax.plot([rec.hours(row.start), rec.hours(row.end)], [y, y], color="0.6", lw=1)
            color = "tab:purple" if row.early else "k"
            ax.plot([rec.hours(row.end), rec.hours(row.exported)], [y, y], color=color, lw=3)
        ax.plot(rec.hours(row.exported), y, "v", color="tab:orange", ms=6)
        if row.promoted is not None:
            ax.plot(rec.hours(row.promoted), y, "*", color="tab:green", ms=10)
        if row.rejected is not None:
            ax.plot(rec.hours(row.rejected), y, "X", color="tab:red", ms=8)
    ax.set_ylabel("version")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("simulated hours since the live start")
    ax.grid(alpha=0.3)


def ratios_png(rec: Records, rows: list[VersionRow], path: Path) -> None:
    """In-band ASD ratio to raw of production, canary and OUT_DQ per monitor check, over a
    timeline of the versions."""
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 7), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    hours = [rec.hours(r["gps"]) for r in rec.ratios]
    top.axhline(1.0, color=COLORS["raw"], lw=1, label="raw (= 1)")
    for series, style in (("production", "-"), ("canary", ":"), ("out_dq", "--")):
        top.plot(
            hours,
            [r[f"{series}_ratio"] for r in rec.ratios],
            style,
            marker="." if series != "out_dq" else None,
            ms=3,
            lw=1,
            color=COLORS[series],
            label=f"{series} / raw",
        )
    _events(top, rec, rows)
    top.set_yscale("log")
    top.set_ylabel("in-band ASD ratio to raw")
    top.set_title(
        "monitor checks; dashed black: the step, green: promotions, red: rejections", fontsize=10
    )
    top.legend(fontsize=8, loc="lower left", framealpha=0.7)
    top.grid(alpha=0.3, which="both")
    _timeline(bottom, rec, rows)
    _events(bottom, rec, rows)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def truth_png(rec: Records, rows: list[VersionRow], path: Path) -> None:
    """Per band, ASD ratio to the simulator's background of raw, production, canary, OUT_DQ."""
    bands = list(rec.truth[0]["production"])
    fig, axes = plt.subplots(len(bands), 1, figsize=(11, 2.6 * len(bands)), sharex=True)
    axes = axes if len(bands) > 1 else [axes]
    hours = [rec.hours(t["gps"]) for t in rec.truth]
    for ax, band in zip(axes, bands):
        for series in ("raw", "production", "canary", "out_dq"):
            ax.plot(
                hours,
                [t[series][band] for t in rec.truth],
                "--" if series == "out_dq" else "-",
                marker="." if series != "out_dq" else None,
                ms=3,
                lw=1,
                color=COLORS[series],
                label=series,
            )
        ax.axhline(1.0, color="k", lw=0.6)
        _events(ax, rec, rows)
        ax.set_yscale("log")
        ax.set_ylabel(f"{band}\nASD / background")
        ax.grid(alpha=0.3, which="both")
    axes[-1].legend(fontsize=8, loc="lower left", ncol=4, framealpha=0.7)
    axes[0].set_title("against the simulator's truth (1 = all coupled noise removed)", fontsize=10)
    axes[-1].set_xlabel("simulated hours since the live start")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
