"""The kill switch applied to a cleaned second (pure): OUT_DQ = raw strain, bits say why.

While an operator has turned cleaning off (:mod:`deepclean.utils.kill_switch`), every frame
the cleaner writes carries OUT_DQ exactly equal to the raw strain, ``OUT_DQ_CLEANED`` clear
and ``CLEANING_DISABLED`` set. PRODUCTION and CANARY are still computed and written (what the
models would have done), and the OUT_DQ gate keeps its state, so turning cleaning on again
takes effect from the next frame written.
"""

from __future__ import annotations

import dataclasses

from deepclean.services.cleaner.pipeline import CleanedSecond
from deepclean.utils.products import StateBit


def switched_off(second: CleanedSecond) -> CleanedSecond:
    """``second`` as written while cleaning is off."""
    bits = (second.bits & ~int(StateBit.OUT_DQ_CLEANED)) | int(StateBit.CLEANING_DISABLED)
    return dataclasses.replace(
        second, out_dq=second.raw.copy(), bits=bits.astype(second.bits.dtype), cleaned_fraction=0.0
    )
