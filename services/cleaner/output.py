"""Cleaned frames on disk: names, contents (the contract of :mod:`deepclean.utils.products`), resume
point."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from deepclean.utils.frames.crawler import newest_frame
from deepclean.utils.frames.gwf import Channel, write_frame
from deepclean.utils.frames.naming import FrameKind, FrameName
from deepclean.utils.ifo import IFO
from deepclean.utils.products import CLEANED_RATE_HZ, FLAG_RATE_HZ, Flag, Product, StateBit
from deepclean.utils.triton.names import Role

if TYPE_CHECKING:
    from deepclean.services.cleaner.pipeline import CleanedSecond

SLICES = int(FLAG_RATE_HZ)  #: 16 Hz flag samples per second


def state_bits(masks: Mapping[StateBit, np.ndarray | bool], samples: int) -> np.ndarray:
    """``(16,)`` int32 flags: a bit is set in a 1/16 s slice only if its mask holds for every sample
    there.

    ``masks`` maps each bit to a per-sample ``(samples,)`` mask or one bool for the whole second.
    """
    bits = np.zeros(SLICES, dtype=np.int32)
    for bit, mask in masks.items():
        mask = np.broadcast_to(np.asarray(mask, dtype=bool), (samples,))
        bits |= np.where(mask.reshape(SLICES, -1).all(axis=1), int(bit), 0).astype(np.int32)
    return bits


def cleaned_dir(project_dir: Path, ifo: IFO | str) -> Path:
    return Path(project_dir) / "cleaned" / str(IFO(ifo))


def cleaned_path(project_dir: Path, ifo: IFO | str, gps: int) -> Path:
    """``$PROJECT_DIR/cleaned/<IFO>/<site>-<IFO>_llhoft_deepclean-<GPS>-1.gwf``."""
    name = FrameName(ifo=IFO(ifo), tag=FrameKind.CLEANED.value, gps=int(gps)).filename
    return cleaned_dir(project_dir, ifo) / name


def newest_written(project_dir: Path, ifo: IFO | str) -> int | None:
    """GPS of the newest cleaned frame already on disk (None if none): a restart resumes after
    it."""
    return newest_frame(cleaned_dir(project_dir, ifo), FrameKind.CLEANED, ifo)


def frame_channels(ifo: IFO | str, second: CleanedSecond) -> list[Channel]:
    """The channels of one cleaned frame."""
    t0, rate = float(second.gps), CLEANED_RATE_HZ
    strain = {
        Product.OUT_DQ: second.out_dq,
        Product.PRODUCTION: second.production,
        Product.CANARY: second.canary,
        Product.RAW: second.raw,
    }
    channels = [
        Channel(p.channel(ifo), np.asarray(strain[p], dtype=np.float64), rate, t0) for p in Product
    ]
    flags = {
        Flag.INPUT_STATE: np.asarray(second.input_state).astype(np.int32),
        Flag.STATE: second.bits.astype(np.int32),
        Flag.PRODUCTION_VERSION: np.full(
            SLICES, second.versions.get(Role.PRODUCTION, 0), dtype=np.int32
        ),
        Flag.CANARY_VERSION: np.full(SLICES, second.versions.get(Role.CANARY, 0), dtype=np.int32),
    }
    channels += [Channel(f.channel(ifo), flags[f], FLAG_RATE_HZ, t0) for f in Flag]
    return channels


def write_cleaned(project_dir: Path, ifo: IFO | str, second: CleanedSecond) -> Path:
    """Write one cleaned frame atomically (temporary name, then rename); return its path."""
    return write_frame(cleaned_path(project_dir, ifo, second.gps), frame_channels(ifo, second))


def written_line(
    second: CleanedSecond, name: str, latency: str, stages: Mapping[str, float]
) -> str:
    """The log line of a cleaned frame written: file ``name``, ``latency`` and its ``stages``
    (seconds), OUT_DQ cleaned fraction and ratio (per band with several bands), the versions
    used and the state bits."""
    valid = {
        role: "" if second.valid[role] else " (raw)" for role in (Role.PRODUCTION, Role.CANARY)
    }
    return (
        f"GPS {int(second.gps)}: {name} latency {latency} "
        f"({', '.join(f'{stage} {seconds:.3f}' for stage, seconds in stages.items())}); "
        f"{outdq_text(second)}; "
        f"production v{int(second.versions[Role.PRODUCTION])}{valid[Role.PRODUCTION]}, "
        f"canary v{int(second.versions[Role.CANARY])}{valid[Role.CANARY]}; "
        f"state 0x{int(second.bits.min()):x}"
    )


def outdq_text(second: CleanedSecond) -> str:
    """``OUT_DQ cleaned 100%, ratio 0.412``; with several bands each band's share and ratio:
    ``OUT_DQ cleaned 67% (58-62 Hz 100% ratio 0.120, 178-182 Hz 0% ratio 1.204, ...)``."""
    text = f"OUT_DQ cleaned {100 * second.cleaned_fraction:.0f}%"
    if len(second.bands) <= 1:
        return f"{text}, ratio {_ratio(second.ratio)}"
    per_band = ", ".join(
        f"{b.label} {100 * b.fraction:.0f}% ratio {_ratio(b.ratio)}" for b in second.bands
    )
    return f"{text} ({per_band})"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
