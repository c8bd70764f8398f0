"""Gate the noise estimate by analysis readiness: full subtraction only where data are ready.

Outside analysis-ready (or trustworthy) data the network's estimate is meaningless, so it
is multiplied by a gate that is 0 there, 1 inside ready stretches, and ramps between them
with half Hann windows of ``taper`` samples placed *inside* the ready stretch (as the
production cleaner tapered its noise in and out), so no step is ever subtracted.
"""

from __future__ import annotations

import numpy as np


def ready_gate(ready: np.ndarray, taper: int) -> np.ndarray:
    """``(N,)`` float gate in [0, 1] from the per-sample mask ``ready``.

    A ready stretch shorter than ``2 * taper`` samples gets a shortened symmetric ramp.
    """
    ready = np.asarray(ready, dtype=bool)
    if ready.ndim != 1:
        raise ValueError(f"ready mask has shape {ready.shape}; expected (samples,)")
    if taper < 0:
        raise ValueError(f"taper {taper} samples must not be negative")
    gate = ready.astype(np.float64)
    if taper == 0:
        return gate
    padded = np.concatenate([[False], ready, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    for start, stop in zip(edges[::2], edges[1::2]):
        t = min(taper, (stop - start) // 2)
        if t == 0:
            gate[start:stop] = 0.0
            continue
        ramp = np.hanning(2 * t)[:t]
        gate[start : start + t] = ramp
        gate[stop - t : stop] = ramp[::-1]
    return gate
