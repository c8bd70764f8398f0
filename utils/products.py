"""The contract between the services: what a cleaned frame holds, and what the model repository
says about each DeepClean version. Pure names and arithmetic: no files, no network.

Cleaned frames (written by the cleaner, read by the monitor and by downstream users), one per
GPS second, ``$PROJECT_DIR/cleaned/<IFO>/<site>-<IFO>_llhoft_deepclean-<GPS>-1.gwf``:

======================================================  =======  =============================
channel                                                 rate     what
======================================================  =======  =============================
``<IFO>:GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION_OUT_DQ``  4096 Hz  the product: production
                                                                 cleaning through the ASD
                                                                 gate, raw strain where
                                                                 cleaning is not trustworthy
``<IFO>:GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION``         4096 Hz  strain - band-passed
                                                                 production noise
``<IFO>:GDS-CALIB_STRAIN_DEEPCLEAN_CANARY``             4096 Hz  strain - band-passed canary
                                                                 noise
``<IFO>:DEEPCLEAN-RAW_STRAIN``                          4096 Hz  the resampled strain the
                                                                 noise was subtracted from
                                                                 (what ratios and archives
                                                                 compare against)
``<IFO>:GDS-CALIB_STATE_VECTOR``                        16 Hz    the input's state vector,
                                                                 copied
``<IFO>:DEEPCLEAN-STATE_VECTOR``                        16 Hz    :class:`StateBit` flags
                                                                 (int32)
``<IFO>:DEEPCLEAN-PRODUCTION_VERSION``                  16 Hz    DeepClean version behind
                                                                 PRODUCTION (0: none)
``<IFO>:DEEPCLEAN-CANARY_VERSION``                      16 Hz    DeepClean version behind
                                                                 CANARY (0: none)
======================================================  =======  =============================

Where PRODUCTION or CANARY could not be computed (Triton unreachable, stream warming up,
witnesses missing) they hold the raw strain and the corresponding bits are clear. While an
operator has turned cleaning off (``deepclean cleaning disable``), OUT_DQ is exactly the raw
strain and :attr:`StateBit.CLEANING_DISABLED` is set.

DeepClean's ``config.pbtxt`` (model ``deepclean``) carries a parameter ``version_info``: a JSON
object mapping each version (as a string) to :class:`VersionInfo` fields. The exporter writes
it; the cleaner and the monitor read it from the served config.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import IntFlag, StrEnum
from typing import Any

from deepclean.utils.ifo import IFO

CLEANED_RATE_HZ = 4096.0  #: sample rate of the strain-like channels of a cleaned frame
FLAG_RATE_HZ = 16.0  #: sample rate of the state-vector and version channels
VERSION_INFO = (
    "version_info"  #: the DeepClean config parameter holding :class:`VersionInfo` per version
)


class _ChannelSuffix:
    """A channel name after ``<IFO>:`` (the value of a str enum)."""

    value: str

    def channel(self, ifo: IFO | str) -> str:
        """The full channel name at ``ifo``."""
        return f"{IFO(ifo)}:{self.value}"


class Product(_ChannelSuffix, StrEnum):
    """The strain-like channels of a cleaned frame (suffix after ``<IFO>:``)."""

    OUT_DQ = "GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION_OUT_DQ"
    PRODUCTION = "GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION"
    CANARY = "GDS-CALIB_STRAIN_DEEPCLEAN_CANARY"
    RAW = "DEEPCLEAN-RAW_STRAIN"


class Flag(_ChannelSuffix, StrEnum):
    """The 16 Hz integer channels of a cleaned frame (suffix after ``<IFO>:``)."""

    INPUT_STATE = "GDS-CALIB_STATE_VECTOR"
    STATE = "DEEPCLEAN-STATE_VECTOR"
    PRODUCTION_VERSION = "DEEPCLEAN-PRODUCTION_VERSION"
    CANARY_VERSION = "DEEPCLEAN-CANARY_VERSION"


class StateBit(IntFlag):
    """Bits of ``<IFO>:DEEPCLEAN-STATE_VECTOR`` (16 Hz, one value per 1/16 s).

    A bit describes its whole 1/16 s sample: it is set only if it holds for every strain
    sample of that slice.
    """

    #: OUT_DQ has the production noise subtracted (fully: every band's gate = 1)
    OUT_DQ_CLEANED = 1 << 0
    PRODUCTION_TRAINED = 1 << 1  #: the production model is a trained one
    WITNESSES_PRESENT = 1 << 2  #: witness data were present for this slice and its context
    TAPERED = 1 << 3  #: the input was tapered in after a dropped second (or the stream began)
    CANARY_DIFFERS = 1 << 4  #: the canary version differs from the production version
    PRODUCTION_VALID = 1 << 5  #: PRODUCTION holds a warmed-up noise subtraction (Triton answered)
    CANARY_VALID = 1 << 6  #: CANARY holds a warmed-up noise subtraction (Triton answered)
    INPUT_READY = 1 << 7  #: the input state vector says analysis-ready (``value & 3 == 3``)
    CANARY_TRAINED = 1 << 8  #: the canary model is a trained one
    #: an operator turned cleaning off (``deepclean cleaning disable``): OUT_DQ is the raw strain
    CLEANING_DISABLED = 1 << 9
    #: with several cleaning bands: OUT_DQ has the production noise fully subtracted in some
    #: bands but not all (each band has its own gate; never set with one band)
    OUT_DQ_PARTIAL = 1 << 10


def cleaned_channels(ifo: IFO | str) -> list[str]:
    """Every channel of a cleaned frame, strain-like first."""
    return [p.channel(ifo) for p in Product] + [f.channel(ifo) for f in Flag]


@dataclass(frozen=True)
class VersionInfo:
    """What the repository records about one DeepClean version."""

    trained: bool  #: False for the placeholder (untrained) model the exporter starts with
    span: dict[str, int] | None = None  #: training span: ``{"start": GPS, "duration": s}``
    model_dir: str | None = None  #: the training run directory it was exported from
    valid_loss: float | None = None  #: best validation loss of its training run
    in_band_ratio: float | None = None  #: validation in-band ASD ratio of its training run
    bands: list[list[float]] = field(default_factory=list)  #: reported cleaning band(s), Hz
    filter_bands: list[list[float]] = field(
        default_factory=list
    )  #: band-pass applied to the noise, Hz

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> VersionInfo:
        if not isinstance(data, dict) or "trained" not in data:
            raise ValueError(f"version info {data!r} is not an object with a 'trained' field")
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def parse_version_info(parameter: Any) -> dict[int, VersionInfo]:
    """Decode the ``version_info`` parameter (the JSON object, decoded) into ``{version: info}``."""
    if not isinstance(parameter, dict):
        raise ValueError(f"parameter {VERSION_INFO} must be a JSON object, got {parameter!r}")
    out = {}
    for key, value in parameter.items():
        try:
            version = int(key)
        except ValueError:
            raise ValueError(
                f"parameter {VERSION_INFO}: key {key!r} is not a version number"
            ) from None
        out[version] = VersionInfo.from_json(value)
    return out
