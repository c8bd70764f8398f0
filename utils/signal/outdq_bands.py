"""The OUT_DQ gate per cleaning band: a band's noise is subtracted only while it helps there.

The noise is band-passed band by band (:func:`~.postprocess.filter_noise_bands`; the band-pass
sums one filter per band anyway, so nothing more is filtered). Each filter band has its own
:class:`~.outdq.OutDqGate`, fed with ``raw`` and ``raw - ready * noise_b`` and averaging its
ratio over that band's bins (the cleaning bands nearest to it, :func:`assign_bands`); each
tapers in and out on its own, and

    OUT_DQ = raw - sum over bands b of gate_b * ready * noise_b.

So a model that cleans 60 Hz and makes 180 Hz worse cleans OUT_DQ at 60 Hz and leaves it raw
at 180 Hz. With one band this is the single gate of :mod:`.outdq`, bit for bit. As there, each
decision uses only the second's own data: the gates add no look-ahead. Pure numpy; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deepclean.utils.signal.filters import sum_bands
from deepclean.utils.signal.outdq import OutDqGate

Band = tuple[float, float]  #: ``(low, high)`` Hz


def assign_bands(filter_bands: Sequence[Band], bands: Sequence[Band]) -> list[list[Band]]:
    """For each filter band, the cleaning bands its gate averages over: each cleaning band goes
    to the filter band whose centre is nearest its own (ties: the first); a filter band given
    none is judged over itself. One filter band therefore takes every cleaning band."""
    centres = [(lo + hi) / 2 for lo, hi in filter_bands]
    judged: list[list[Band]] = [[] for _ in filter_bands]
    for lo, hi in bands:
        nearest = int(np.argmin([abs((lo + hi) / 2 - c) for c in centres]))
        judged[nearest].append((float(lo), float(hi)))
    return [own or [(float(lo), float(hi))] for own, (lo, hi) in zip(judged, filter_bands)]


def band_label(bands: Sequence[Band]) -> str:
    """``"58-62 Hz"`` (several bands joined by ``+``), for logs and metric labels."""
    return "+".join(f"{lo:g}-{hi:g}" for lo, hi in bands) + " Hz"


@dataclass(frozen=True)
class BandGate:
    """One band's OUT_DQ gate over one second."""

    label: str  #: the cleaning band(s) judged, e.g. ``"58-62 Hz"``
    ratio: float | None  #: its ASD ratio (raw - noise_b)/raw over the buffer (None: no decision)
    gate: np.ndarray  #: ``(samples,)`` in [0, 1]: the fraction of its noise OUT_DQ subtracts

    @property
    def fraction(self) -> float:
        """Mean of the gate over the second (1: fully subtracted, 0: raw)."""
        return float(self.gate.mean())


@dataclass(frozen=True)
class BandsSecond:
    """Every band's OUT_DQ gate over one second, in the order of the filter bands."""

    bands: tuple[BandGate, ...]

    @property
    def fully(self) -> np.ndarray:
        """``(samples,)`` bool: every band's noise fully subtracted (all gates 1)."""
        return np.all([b.gate >= 1.0 for b in self.bands], axis=0)

    @property
    def partly(self) -> np.ndarray:
        """``(samples,)`` bool: some band's noise fully subtracted, but not every band's."""
        return np.any([b.gate >= 1.0 for b in self.bands], axis=0) & ~self.fully

    @property
    def cleaned_fraction(self) -> float:
        """Mean over bands of each band's :attr:`BandGate.fraction` (one band: its gate's mean)."""
        return float(np.mean([b.fraction for b in self.bands]))

    @property
    def ratio(self) -> float | None:
        """The worst (largest) band ratio; None until every band has decided."""
        ratios = [b.ratio for b in self.bands]
        return None if any(r is None for r in ratios) else max(ratios)

    def out_dq(self, raw: np.ndarray, noise: Sequence[np.ndarray]) -> np.ndarray:
        """``raw - sum_b gate_b * noise_b`` for the per-band band-passed ``noise``."""
        if len(noise) != len(self.bands):
            raise ValueError(f"{len(noise)} noise series for {len(self.bands)} gated bands")
        return raw - sum_bands([b.gate * x for b, x in zip(self.bands, noise)])


class BandGates:
    """One :class:`OutDqGate` per filter band (see the module docstring).

    Args:
        sample_rate: Hz.
        filter_bands: ``(low, high)`` Hz of the noise's band-pass, one gate each.
        bands: the cleaning bands the gates average their ratios over (:func:`assign_bands`).
        **options: :class:`OutDqGate`'s ``buffer_seconds``, ``min_seconds``,
            ``taper_seconds``, ``fftlength``.
    """

    def __init__(
        self,
        sample_rate: float,
        filter_bands: Sequence[Band],
        bands: Sequence[Band],
        **options: float,
    ) -> None:
        self.sample_rate = float(sample_rate)
        self.options = options
        self.gates: list[OutDqGate] = []
        self.labels: list[str] = []
        self.set_bands(filter_bands, bands)

    def set_bands(self, filter_bands: Sequence[Band], bands: Sequence[Band]) -> None:
        """Gate these bands from now on. With as many filter bands as before each gate keeps
        its state and only averages over its new bands; otherwise the gates start afresh (out
        of spec, empty buffers)."""
        judged = assign_bands(filter_bands, bands)
        if len(judged) != len(self.gates):
            self.gates = [OutDqGate(self.sample_rate, j, **self.options) for j in judged]
        else:
            for gate, j in zip(self.gates, judged):
                gate.set_bands(j)
        self.labels = [band_label(j) for j in judged]

    def push(
        self,
        raw: np.ndarray,
        noise: Sequence[np.ndarray] | None,
        valid: bool = True,
        ready: np.ndarray | None = None,
    ) -> BandsSecond:
        """The gates of the next second: ``raw`` ``(samples,)``, ``noise`` one band-passed
        ``(samples,)`` series per band (None or ignored when not ``valid``: no trustworthy
        estimate, every gate out of spec), ``ready`` the readiness gate in [0, 1] applied to
        the noise (default 1)."""
        raw = np.asarray(raw, dtype=np.float64)
        if valid and (noise is None or len(noise) != len(self.gates)):
            got = "no" if noise is None else len(noise)
            raise ValueError(f"{got} noise series for {len(self.gates)} gated bands")
        ready = np.ones(raw.shape) if ready is None else ready
        out = []
        for k, (gate, label) in enumerate(zip(self.gates, self.labels)):
            if valid:
                decision = gate.push(raw, raw - ready * noise[k])
                out.append(BandGate(label, decision.ratio, decision.gate * ready))
            else:
                decision = gate.push(raw, raw, valid=False)
                out.append(BandGate(label, decision.ratio, np.zeros(raw.shape)))
        return BandsSecond(tuple(out))
