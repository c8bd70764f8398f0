"""What a frame reader yields for one GPS second: :class:`FrameData` (validated samples at native
rates) or :class:`DroppedFrame` (no usable data, and why)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from deepclean.utils.frames.gwf import Channel
from deepclean.utils.frames.state import fully_ready


@dataclass(frozen=True)
class FrameData:
    """One GPS second of validated data at native rates."""

    gps: int  #: GPS start, seconds
    channels: Mapping[
        str, Channel
    ]  #: the requested channels in order: strain first, then witnesses
    state: np.ndarray  #: state-vector samples of this second (16 Hz)
    extras: Mapping[str, Channel] = field(
        default_factory=dict
    )  #: extra strain-frame channels asked for
    witness_error: str = (
        ""  #: why the witnesses are missing ("" when present; then ``channels`` is the strain only)
    )

    @property
    def witnesses_present(self) -> bool:
        return not self.witness_error

    @property
    def arrays(self) -> list[np.ndarray]:
        """The samples of :attr:`channels`, in order."""
        return [c.data for c in self.channels.values()]

    @property
    def sample_rates(self) -> list[float]:
        """Native rates of :attr:`channels`, Hz, in order."""
        return [c.sample_rate for c in self.channels.values()]

    @property
    def ready(self) -> bool:
        """True if the whole second is analysis-ready (``state & 3 == 3`` for every sample)."""
        return fully_ready(self.state)


@dataclass(frozen=True)
class DroppedFrame:
    """A GPS second without usable data, and why."""

    gps: int
    reason: str
