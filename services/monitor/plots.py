"""The status page's figures as PNG bytes (matplotlib's Agg canvas: no display needed; figures
are made without pyplot, so the checker thread and the web threads can draw at once).

``asd_png``: ASDs of raw, production, canary and OUT_DQ around the band(s), the band shaded.
``ratio_png``: in-band ASD ratios against raw of production, canary and OUT_DQ over the
recent history, with the ``max_ratio`` line. ``latency_png``: each cleaned frame's latency over
the recent frames, with their median. Sizes are fixed (:data:`ASD_SIZE`, :data:`RATIO_SIZE`,
:data:`LATENCY_SIZE`, pixels) so the page lays out before they load. The histories (also the
BNS range's, :mod:`.ranges`) share :func:`plot_series` and :func:`history_png`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 100
ASD_SIZE = (800, 450)  #: width, height of the ASD figure in pixels
RATIO_SIZE = (800, 300)  #: width, height of the ratio history in pixels
LATENCY_SIZE = (800, 250)  #: width, height of the latency history in pixels
MARGIN_HZ = 15.0  #: shown on each side of the band(s)
STYLES = {
    "raw": {"lw": 1.6},
    "production": {"lw": 2.4},
    "canary": {"lw": 1.4},
    "out_dq": {"lw": 1.0, "ls": "--"},
}
COLORS = {"raw": "0.45", "production": "tab:blue", "canary": "tab:orange", "out_dq": "tab:green"}
NO_SEGMENT = "no usable segment yet"  #: what a history of checks shows before the first one


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()


def new_figure(size: tuple[int, int]):
    """An empty figure of ``size`` (width, height) pixels."""
    return Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI, layout="constrained")


def plot_series(ax, minutes, values, name: str, dot_size: float) -> None:
    """One series (a key of :data:`COLORS`) of a history: OUT_DQ, often equal to production,
    dashed with crosses; the others solid with dots of ``dot_size`` points."""
    style = {"ls": "--", "marker": "x", "ms": 4} if name == "out_dq" else {"marker": "o"}
    ax.plot(minutes, values, lw=1, label=name, color=COLORS[name], **({"ms": dot_size} | style))


def history_png(fig, ax, ylabel: str, *, empty: str | None) -> bytes:
    """The PNG of a history (values against minutes before the latest frame): a legend, or the
    text ``empty`` in the middle when there was nothing to draw; axis labels and a grid."""
    if empty is None:
        ax.legend(loc="upper left", fontsize=9)
    else:
        ax.text(0.5, 0.5, empty, ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("minutes before the latest frame")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    return _png(fig)


def asd_png(
    freqs: np.ndarray,
    asds: Mapping[str, np.ndarray],
    bands: Sequence[tuple[float, float]],
    title: str,
) -> bytes:
    """ASDs (keys of :data:`COLORS`) against frequency around ``bands``."""
    fig = new_figure(ASD_SIZE)
    ax = fig.add_subplot()
    low = max(min(b[0] for b in bands) - MARGIN_HZ, freqs[1])
    high = max(b[1] for b in bands) + MARGIN_HZ
    shown = (freqs >= low) & (freqs <= high)
    for name, values in asds.items():  # OUT_DQ often equals production: dashed and thinner, on top
        ax.semilogy(
            freqs[shown], values[shown], label=name, color=COLORS.get(name), **STYLES.get(name, {})
        )
    for lo, hi in bands:
        ax.axvspan(lo, hi, color="tab:red", alpha=0.08, lw=0)
    ax.set_xlim(low, high)
    ax.set_xlabel("frequency [Hz]")
    ax.set_ylabel("ASD [strain/√Hz]")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper right", fontsize=9)
    return _png(fig)


def ratio_png(
    points: Sequence[Mapping[str, float]], now_gps: int | None, max_ratio: float, window: float
) -> bytes:
    """Ratios (``gps``, ``production_ratio``, ``canary_ratio``, ``out_dq_ratio``) over the last
    ``window`` s."""
    fig = new_figure(RATIO_SIZE)
    ax = fig.add_subplot()
    drawn = bool(points) and now_gps is not None
    if drawn:
        minutes = np.array([(p["gps"] - now_gps) / 60.0 for p in points])
        for key, name in (
            ("production_ratio", "production"),
            ("canary_ratio", "canary"),
            ("out_dq_ratio", "out_dq"),
        ):
            plot_series(ax, minutes, [p[key] for p in points], name, dot_size=5)
    ax.axhline(max_ratio, color="tab:red", ls="--", lw=1)
    earliest = (
        min(((p["gps"] - now_gps) / 60.0 for p in points), default=-window / 60.0)
        if now_gps
        else 0.0
    )
    ax.set_xlim(
        max(-window / 60.0, min(earliest * 1.1, -1.0)), 0.2
    )  # the data's span, at most the window
    return history_png(fig, ax, "in-band ASD ratio / raw", empty=None if drawn else NO_SEGMENT)


def latency_png(points: Sequence[tuple[int, float]]) -> bytes:
    """Latency of each cleaned frame (``(gps, seconds)``, oldest first) against minutes before
    the latest frame, with the median as a dashed line."""
    fig = new_figure(LATENCY_SIZE)
    ax = fig.add_subplot()
    if points:
        gps = np.array([g for g, _ in points], dtype=float)
        seconds = np.array([s for _, s in points])
        ax.plot((gps - gps[-1]) / 60.0, seconds, lw=1, marker=".", ms=3, color="tab:blue")
        median = float(np.median(seconds))
        ax.axhline(median, color="tab:red", ls="--", lw=1, label=f"median {median:.2f} s")
        ax.set_xlim(min((gps[0] - gps[-1]) / 60.0, -1.0), 0.2)
    return history_png(fig, ax, "latency [s]", empty=None if points else "no cleaned frame yet")
