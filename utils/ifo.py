"""Interferometers (a closed set) and the site letter used in frame file names."""

from enum import StrEnum


class IFO(StrEnum):
    """Gravitational-wave detectors whose low-latency frames this pipeline reads."""

    H1 = "H1"
    L1 = "L1"
    V1 = "V1"
    K1 = "K1"

    @property
    def site(self) -> str:
        """The one-letter site prefix of frame file names (``H`` in ``H-H1_llhoft-...``)."""
        return self.value[0]
