"""Witness channels of the simulated detector: names, native sample rates, default couplings.

Defaults follow the production DeepClean configuration: H1 has 21 witnesses, the mains
monitor ``PEM-CS_MAINSMON_EBAY_1_DQ`` and ``ASC-{INP1,MICH,PRC1,PRC2,SRC1,SRC2,DHARD,CHARD,
DSOFT,CSOFT}_{P,Y}_OUT_DQ``; L1 has 18 (no ``INP1_Y``, ``CSOFT_Y``, ``DSOFT_Y``). Other IFOs
use the H1 list. Names here carry no ``<IFO>:`` prefix; :func:`full_name` adds it.

Native sample rates (chosen to be plausible for these channel types, not copied from a
detector): the mains monitor 1024 Hz; ASC loops 512 Hz, except the slow soft modes
(``DSOFT``, ``CSOFT``) at 256 Hz; extra synthetic witnesses 512 Hz.

Default bilinear couplings (relative weights of the mains x ASC products; every other
witness does not couple): DHARD_P 1.0, CHARD_P 0.7, DHARD_Y 0.5, PRC2_P 0.35, SRC1_Y 0.25.
"""

from __future__ import annotations

from collections.abc import Sequence

from deepclean.utils.frames.naming import strain_channel
from deepclean.utils.ifo import IFO

MAINS = "PEM-CS_MAINSMON_EBAY_1_DQ"  #: the mains-monitor witness
ASC_LOOPS = ("INP1", "MICH", "PRC1", "PRC2", "SRC1", "SRC2", "DHARD", "CHARD", "DSOFT", "CSOFT")
L1_ABSENT = frozenset({"ASC-INP1_Y_OUT_DQ", "ASC-CSOFT_Y_OUT_DQ", "ASC-DSOFT_Y_OUT_DQ"})
BACKGROUND = "SIM-BACKGROUND"  #: ground-truth channel: the strain without coupled noise
INJECTION = "SIM-INJECTION"  #: ground-truth channel: the injected signals summed (strain only)

MAINS_RATE_HZ = 1024
ASC_RATE_HZ = 512
SOFT_ASC_RATE_HZ = 256

DEFAULT_COUPLINGS: dict[str, float] = {
    "ASC-DHARD_P_OUT_DQ": 1.0,
    "ASC-CHARD_P_OUT_DQ": 0.7,
    "ASC-DHARD_Y_OUT_DQ": 0.5,
    "ASC-PRC2_P_OUT_DQ": 0.35,
    "ASC-SRC1_Y_OUT_DQ": 0.25,
}


def asc_name(loop: str, dof: str) -> str:
    """``ASC-<loop>_<dof>_OUT_DQ``; ``dof`` is ``P`` (pitch) or ``Y`` (yaw)."""
    return f"ASC-{loop}_{dof}_OUT_DQ"


def default_witnesses(ifo: IFO | str) -> list[str]:
    """The production witness list of ``ifo`` (sorted, without the IFO prefix)."""
    names = [MAINS] + [asc_name(loop, dof) for loop in ASC_LOOPS for dof in ("P", "Y")]
    if IFO(ifo) is IFO.L1:
        names = [n for n in names if n not in L1_ABSENT]
    return sorted(names)


def extra_witness(index: int) -> str:
    """Name of the ``index``-th synthetic non-coupling ASC-like witness (beyond the defaults)."""
    return f"ASC-SIM{index:02d}_P_OUT_DQ"


def resize_witnesses(names: Sequence[str], count: int, keep: Sequence[str] = ()) -> list[str]:
    """``count`` witnesses from ``names``: the ones in ``keep`` first, then the others in
    order; if ``count`` exceeds ``len(names)``, synthetic ones are added. Returned sorted."""
    if count < len(keep):
        raise ValueError(
            f"number of witnesses {count} is too small: the mains monitor and the coupled "
            "witnesses "
            f"({', '.join(keep)}) need {len(keep)}"
        )
    ordered = list(dict.fromkeys([*keep, *names]))[:count]
    index = 0
    while len(ordered) < count:
        if extra_witness(index) not in ordered:
            ordered.append(extra_witness(index))
        index += 1
    return sorted(ordered)


def native_rate(name: str) -> int:
    """Native sample rate (Hz) of witness ``name`` (without IFO prefix)."""
    if name == MAINS or name.startswith("PEM-"):
        return MAINS_RATE_HZ
    if name.startswith(("ASC-DSOFT_", "ASC-CSOFT_")):
        return SOFT_ASC_RATE_HZ
    return ASC_RATE_HZ


def full_name(ifo: IFO | str, name: str) -> str:
    """``<IFO>:<name>``."""
    return f"{IFO(ifo)}:{name}"


def channel_list(ifo: IFO | str, witnesses: Sequence[str]) -> list[str]:
    """Full channel names, strain first, then the witnesses sorted (what training reads)."""
    return [strain_channel(ifo)] + sorted(full_name(ifo, w) for w in witnesses)
