"""PNG plots saved with every trained model: the loss curve and the ASDs before/after cleaning.

Drawn with matplotlib's Agg backend (no display needed); files are written atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from deepclean.utils.files import atomic_write
from deepclean.utils.signal.asd_ratios import asd
from deepclean.utils.training.loop import History


def _figure():
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(8, 5), dpi=100)


def _save(fig, path: Path) -> Path:
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))


def plot_losses(history: History, path: Path) -> Path:
    """Training and validation loss per epoch (log scale), the best epoch marked."""
    fig = _figure()
    ax = fig.add_subplot()
    epochs = [r.epoch for r in history.records]
    ax.plot(epochs, [r.train_loss for r in history.records], "o-", label="training")
    valid = [r.valid_loss for r in history.records]
    if any(v is not None for v in valid):
        ax.plot(epochs, [np.nan if v is None else v for v in valid], "s-", label="validation")
    if history.best_epoch:
        ax.axvline(
            history.best_epoch, color="grey", ls="--", label=f"best (epoch {history.best_epoch})"
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (mean in-band ASD ratio residual/target)")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    ax.set_title("DeepClean training")
    return _save(fig, path)


def plot_asds(
    path: Path,
    sample_rate: float,
    bands: Sequence[tuple[float, float]],
    raw: np.ndarray,
    cleaned: np.ndarray,
    background: np.ndarray | None = None,
    fftlength: float = 4.0,
    title: str = "validation data",
) -> Path:
    """ASDs of raw, cleaned and (when known) background strain around the band(s), with the
    cleaned/raw ratio underneath."""
    fig = _figure()
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    lo = max(min(b[0] for b in bands) - 30.0, 1.0)
    hi = max(b[1] for b in bands) + 30.0
    freqs, asd_raw = asd(raw, sample_rate, fftlength)
    _, asd_clean = asd(cleaned, sample_rate, fftlength)
    keep = (freqs >= lo) & (freqs <= hi)
    top.loglog(freqs[keep], asd_raw[keep], label="raw", lw=1)
    top.loglog(freqs[keep], asd_clean[keep], label="cleaned", lw=1)
    if background is not None:
        _, asd_bg = asd(background, sample_rate, fftlength)
        top.loglog(
            freqs[keep], asd_bg[keep], label="background (truth)", lw=1, color="k", alpha=0.6
        )
    for b_lo, b_hi in bands:
        for ax in (top, bottom):
            ax.axvspan(b_lo, b_hi, color="yellow", alpha=0.2)
    top.set_ylabel("ASD [strain/√Hz]")
    top.legend()
    top.grid(True, which="both", alpha=0.3)
    top.set_title(f"DeepClean on {title}")
    bottom.semilogx(freqs[keep], asd_clean[keep] / np.maximum(asd_raw[keep], np.finfo(float).tiny))
    bottom.axhline(1.0, color="grey", ls="--")
    bottom.set_ylabel("cleaned/raw")
    bottom.set_xlabel("frequency [Hz]")
    bottom.grid(True, which="both", alpha=0.3)
    return _save(fig, path)
