"""A tiny synthetic span (256 Hz, 3 witnesses) with a learnable bilinear 60 Hz coupling."""

import numpy as np
from scipy import signal

from deepclean.utils.frames.span import Span

FS = 256.0
BACKGROUND = "H1:SIM-BACKGROUND"


def make_span(
    seconds: int = 96, seed: int = 0, ready: np.ndarray | None = None, channels=None
) -> Span:
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    t = np.arange(n) / FS
    mains = np.sin(2 * np.pi * 60.0 * t)
    slow = signal.sosfiltfilt(
        signal.butter(2, [0.2, 2.0], btype="band", fs=FS, output="sos"), rng.normal(size=(2, n))
    )
    slow /= slow.std(axis=1, keepdims=True)
    witnesses = np.stack([slow[0], slow[1], mains + 0.01 * rng.normal(size=n)])
    background = 1e-21 * rng.normal(size=n)
    coupled = 2e-21 * mains * (0.5 + slow[0])
    strain = background + coupled
    return Span(
        channels=tuple(channels or ("H1:GDS-CALIB_STRAIN", "H1:W-ASC1", "H1:W-ASC2", "H1:W-MAINS")),
        data=np.concatenate([strain[None], witnesses]),
        ready=np.ones(n, dtype=bool) if ready is None else ready,
        t0=1_000_000_000,
        sample_rate=FS,
        extras={BACKGROUND: background},
    )
