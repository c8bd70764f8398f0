"""What the cleaner pipeline (:mod:`.pipeline`) takes and gives per second: its time
:class:`Budget`, Triton's :class:`Answer`, the :class:`CleanedSecond` out and the record of each
:class:`InputSecond` pushed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from deepclean.utils.signal.outdq_bands import BandGate
from deepclean.utils.triton.names import Role

Bands = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Budget:
    """Every look-ahead and context of the pipeline, seconds (see the README's latency table)."""

    drop_taper: float = 1.0  #: half-Hann fade-out in / taper-in after a dropped second
    filter_memory: float = 2.0  #: past noise band-passed with each second
    #: future noise band-passed with each second (None: what the reach and lag leave of a frame)
    filter_lead: float | None = None
    noise_settle: float = 0.5  #: valid noise needed before a second (filter settling)
    ready_taper: float = 1.0  #: noise taper at analysis-ready edges (as clean-offline)
    outdq_buffer: int = 8  #: seconds in the OUT_DQ ASD ratio
    outdq_min: int = 4  #: valid seconds before the first OUT_DQ decision
    outdq_fftlength: float = 2.0
    outdq_taper: float = 1.0


@dataclass(frozen=True)
class Answer:
    """Triton's noise for one second of witnesses."""

    noise: dict[
        Role, np.ndarray
    ]  #: ``(samples,)`` per role, covering ``[first - lag, first + n - lag)``
    sequence_start: int  #: absolute sample at which the answering sequence started


#: ``infer(witnesses (W, n) float32, first absolute sample) -> Answer | None``
Infer = Callable[[np.ndarray, int], "Answer | None"]


@dataclass
class CleanedSecond:
    """Everything a cleaned frame holds for one second (see :mod:`deepclean.utils.products`)."""

    gps: int
    raw: np.ndarray
    production: np.ndarray
    canary: np.ndarray
    out_dq: np.ndarray
    input_state: np.ndarray  #: the input's 16 Hz state vector
    bits: np.ndarray  #: ``(16,)`` int32 StateBit flags
    versions: dict[Role, int]  #: 0 where unknown
    valid: dict[Role, bool] = field(default_factory=dict)
    ratio: float | None = None  #: OUT_DQ gates' in-band ASD ratio (the worst band's)
    #: mean of the OUT_DQ gates over the second and the bands (1: every band fully cleaned)
    cleaned_fraction: float = 0.0
    bands: tuple[BandGate, ...] = ()  #: each filter band's OUT_DQ gate over the second


@dataclass(frozen=True)
class InputSecond:
    """What the strain frame of one pushed second said."""

    dropped: bool  #: no frame: no output for this second
    tapered: bool  #: dropped, or tapered in after a drop (also the stream's first second)
    state: np.ndarray | None  #: the input's 16 Hz state vector (None if dropped)
