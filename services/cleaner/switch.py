"""The kill switch applied to a cleaned second (pure): OUT_DQ = raw strain, bits say why.

While an operator has turned cleaning off (:mod:`deepclean.utils.kill_switch`), every frame
the cleaner writes carries OUT_DQ exactly equal to the raw strain, ``OUT_DQ_CLEANED`` and
``OUT_DQ_PARTIAL`` clear, every band's gate 0, and ``CLEANING_DISABLED`` set. PRODUCTION and
CANARY are still computed and written (what the models would have done), and the OUT_DQ gates
keep their state, so turning cleaning on again takes effect from the next frame written.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from deepclean.services.cleaner.pipeline import CleanedSecond
from deepclean.utils.products import StateBit


def switched_off(second: CleanedSecond) -> CleanedSecond:
    """``second`` as written while cleaning is off."""
    cleaned = int(StateBit.OUT_DQ_CLEANED | StateBit.OUT_DQ_PARTIAL)
    bits = (second.bits & ~cleaned) | int(StateBit.CLEANING_DISABLED)
    shut = tuple(dataclasses.replace(b, gate=np.zeros_like(b.gate)) for b in second.bands)
    return dataclasses.replace(
        second,
        out_dq=second.raw.copy(),
        bits=bits.astype(second.bits.dtype),
        cleaned_fraction=0.0,
        bands=shut,
    )
