"""The BNS-range condition on a promotion (pure).

The in-band ASD ratio alone could pass a model that shaves signal power out of the band
along with the noise; the BNS inspiral range weighs the whole sensitive band as a search
does. A canary check passes the range gate when, on the same segment,

    range(canary) >= range(production) x (1 - tolerance)   and   range(canary) >= range(raw)

(an untrained production model predicts zero, so its range is raw's). Ranges in Mpc.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SegmentRanges:
    """BNS ranges (Mpc) of one segment's series."""

    gps: int  #: end of the segment
    raw: float
    production: float
    canary: float
    out_dq: float

    def by_series(self) -> dict[str, float]:
        """``{"raw": Mpc, "production": ..., "canary": ..., "out_dq": ...}``."""
        return {
            "raw": self.raw,
            "production": self.production,
            "canary": self.canary,
            "out_dq": self.out_dq,
        }

    def describe(self) -> str:
        return (
            f"BNS range raw {self.raw:.2f}, production {self.production:.2f}, "
            f"canary {self.canary:.2f}, OUT_DQ {self.out_dq:.2f} Mpc"
        )


def range_veto(ranges: SegmentRanges, tolerance: float) -> str | None:
    """Why the canary fails the range gate, or None when it passes."""
    if not tolerance >= 0:
        raise ValueError(f"range tolerance {tolerance} must be >= 0")
    floor = ranges.production * (1.0 - tolerance)
    if ranges.canary < floor:
        return (
            f"canary BNS range {ranges.canary:.2f} Mpc < production {ranges.production:.2f} "
            f"x (1 - {tolerance:g}) = {floor:.2f} Mpc"
        )
    if ranges.canary < ranges.raw:
        return f"canary BNS range {ranges.canary:.2f} Mpc < raw {ranges.raw:.2f} Mpc"
    return None
