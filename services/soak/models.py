"""Was OUT_DQ ever cleaned by a model that made it worse? Checked from the cleaned frames alone.

Every cleaned second (archive, and the carousel for what the archive does not hold yet) says
whether OUT_DQ had the production noise subtracted (``DEEPCLEAN-STATE_VECTOR``: in all 16
samples of the second, bit 0, every band cleaned, or bit 10, some bands cleaned and the others
raw, each band having its own gate) and with which production version
(``DEEPCLEAN-PRODUCTION_VERSION``), and holds the raw strain beside it
(``DEEPCLEAN-RAW_STRAIN``). For each version, the cleaned seconds are cut into stretches of
``SEGMENT_S`` contiguous seconds; the Welch PSDs (``FFT_S`` s Hann windows, half overlap,
mean) of OUT_DQ and of the raw strain are averaged over all of that version's stretches, and
its *measured ratio* is the mean over the in-band frequency
bins of ASD(OUT_DQ) / ASD(raw) (the monitor's definition, computed here independently with
scipy). A version that cleaned OUT_DQ with a measured ratio above 1 fails the soak. A version
with fewer than one stretch of cleaned seconds is listed, unmeasured.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal

from deepclean.utils.errors import FrameError
from deepclean.utils.frames.gwf import read_frame
from deepclean.utils.frames.naming import FrameName
from deepclean.utils.ifo import IFO
from deepclean.utils.products import CLEANED_RATE_HZ, Flag, Product, StateBit

SEGMENT_S = 16  #: s of contiguous cleaned seconds per stretch (the soak's monitor segment)
FFT_S = 2.0  #: s per Welch FFT (0.5 Hz bins)
RATE = int(CLEANED_RATE_HZ)
CLEANED = StateBit.OUT_DQ_CLEANED | StateBit.OUT_DQ_PARTIAL  #: OUT_DQ cleaned, in all bands or some


@dataclass
class VersionRatio:
    version: int
    cleaned_seconds: int  #: seconds of OUT_DQ cleaned with this version
    stretches: int  #: SEGMENT_S s stretches measured
    ratio: float | None  #: in-band ASD(OUT_DQ)/ASD(raw); None: too few seconds

    @property
    def ok(self) -> bool:
        return self.ratio is None or self.ratio <= 1.0


def monitor_bands(procfile: Path) -> list[tuple[float, float]]:
    """The monitor's bands (Hz) from the ``--freq-low``/``--freq-high`` of its Procfile line."""
    for line in Path(procfile).read_text().splitlines():
        if line.startswith("monitor:"):
            words = shlex.split(line.split(":", 1)[1])
            values: dict[str, list[float]] = {"--freq-low": [], "--freq-high": []}
            key = None
            for word in words:
                if word.startswith("--"):
                    key = word if word in values else None
                elif key is not None:
                    values[key].append(float(word))
            return list(zip(values["--freq-low"], values["--freq-high"], strict=True))
    raise ValueError(f"{procfile}: no monitor line")


Second = tuple[int, np.ndarray, np.ndarray]  #: (production version, OUT_DQ, raw strain)


def cleaned_seconds(project_dir: Path, ifo: IFO | str) -> dict[int, Second]:
    """GPS -> (production version, OUT_DQ, raw strain) of every second whose OUT_DQ was
    cleaned, in every band or some (state bit 0 or 10 in each slice of the second)."""
    ifo = IFO(ifo)
    out_dq, raw = Product.OUT_DQ.channel(ifo), Product.RAW.channel(ifo)
    state, version = Flag.STATE.channel(ifo), Flag.PRODUCTION_VERSION.channel(ifo)
    found: dict[int, Second] = {}
    for folder in ("archive", "cleaned"):
        directory = Path(project_dir) / folder / str(ifo)
        for path in sorted(directory.iterdir()) if directory.is_dir() else []:
            try:
                name = FrameName.parse(path.name)
                data = read_frame(path, [out_dq, raw, state, version])
            except (ValueError, FrameError, OSError):
                continue  # not a frame, deleted by the carousel meanwhile, or NaN (verify's)
            flags = data[state].data.astype(np.int64).reshape(name.duration, -1)
            versions = data[version].data.astype(np.int64).reshape(name.duration, -1)
            for i in range(name.duration):
                if name.gps + i in found or not (flags[i] & CLEANED).all():
                    continue
                s = slice(i * RATE, (i + 1) * RATE)
                found[name.gps + i] = (
                    int(versions[i][-1]),
                    np.asarray(data[out_dq].data[s], float),
                    np.asarray(data[raw].data[s], float),
                )
    return found


def _stretches(gps: list[int]) -> list[list[int]]:
    """``gps`` (sorted) cut into runs of SEGMENT_S consecutive seconds (the rest dropped)."""
    out, run = [], []
    for g in gps:
        run = run if run and g == run[-1] + 1 else []
        run.append(g)
        if len(run) == SEGMENT_S:
            out.append(run)
            run = []
    return out


def version_ratios(project_dir: Path, ifo: IFO | str, bands) -> list[VersionRatio]:
    """The measured ratio of each production version that cleaned OUT_DQ (module docstring)."""
    seconds = cleaned_seconds(project_dir, ifo)
    result = []
    for v in sorted({v for v, _, _ in seconds.values()}):
        mine = sorted(g for g, (w, _, _) in seconds.items() if w == v)
        runs = _stretches(mine)
        ratio = None
        if runs:
            psd = {}
            for k in (1, 2):
                x = np.array([np.concatenate([seconds[g][k] for g in run]) for run in runs])
                freqs, p = signal.welch(x, RATE, nperseg=int(FFT_S * RATE), axis=-1)
                psd[k] = p.mean(axis=0)
            band = np.zeros(freqs.shape, bool)
            for lo, hi in bands:
                band |= (freqs >= lo) & (freqs <= hi)
            ratio = float(np.mean(np.sqrt(psd[1][band] / psd[2][band])))
        result.append(VersionRatio(v, len(mine), len(runs), ratio))
    return result
