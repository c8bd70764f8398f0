"""Analysis-ready decoding of the state vector ``<IFO>:GDS-CALIB_STATE_VECTOR`` (16 Hz).

The detector is analysis-ready where bits 0 and 1 are both set: ``value & 3 == 3``
(:data:`~deepclean.utils.frames.naming.READY_BITS`). Pure numpy; no I/O.
"""

from __future__ import annotations

import numpy as np

from deepclean.utils.frames.naming import READY_BITS, STATE_RATE_HZ


def _as_bits(state: np.ndarray) -> np.ndarray:
    state = np.asarray(state)
    if state.dtype.kind in "iu":
        return state.astype(np.int64)
    if state.dtype.kind == "f":  # some frames store the state vector as floats holding integers
        if not np.all(np.isfinite(state)) or np.any(state != np.round(state)):
            raise ValueError(
                "state vector holds non-integer or non-finite values; cannot decode its bits"
            )
        return state.astype(np.int64)
    raise ValueError(f"state vector dtype {state.dtype} is not an integer (or integral float) type")


def ready_mask(state: np.ndarray, bits: int = READY_BITS) -> np.ndarray:
    """Boolean mask, one per state-vector sample: True where all of ``bits`` are set."""
    return (_as_bits(state) & bits) == bits


def samples_per_second(sample_rate: float) -> int:
    """Whole samples in one second at ``sample_rate`` Hz; ValueError if not a whole number."""
    count = int(round(sample_rate))
    if count < 1 or abs(sample_rate - count) > 1e-9 * sample_rate:
        raise ValueError(
            f"sample rate {sample_rate} Hz is not a positive whole number of samples per second"
        )
    return count


def ready_seconds(
    state: np.ndarray, state_rate: float = STATE_RATE_HZ, bits: int = READY_BITS
) -> np.ndarray:
    """Per-second flags: True for a second whose every state sample is ready.

    ``state`` covers whole seconds at ``state_rate`` Hz (default 16 Hz); its length must be a
    multiple of the samples per second.
    """
    per_second = samples_per_second(state_rate)
    mask = ready_mask(state, bits)
    if mask.size % per_second:
        raise ValueError(
            f"state vector of {mask.size} samples does not cover whole seconds at {state_rate} Hz "
            f"({per_second} samples per second)"
        )
    return mask.reshape(-1, per_second).all(axis=1)


def fully_ready(state: np.ndarray, bits: int = READY_BITS) -> bool:
    """True if every sample of ``state`` (e.g. one frame's 16 samples) is analysis-ready."""
    return bool(np.all(ready_mask(state, bits))) and np.asarray(state).size > 0


def upsample_mask(mask: np.ndarray, from_rate: float, to_rate: float) -> np.ndarray:
    """Repeat a per-sample mask at ``from_rate`` Hz to ``to_rate`` Hz (an integer multiple).

    Each output sample takes the flag of the input sample whose interval contains it; a
    per-second mask is ``from_rate=1``.
    """
    factor = to_rate / from_rate
    if factor < 1 or abs(factor - round(factor)) > 1e-9 * factor:
        raise ValueError(
            f"cannot upsample a mask from {from_rate} Hz to {to_rate} Hz: need an integer "
            "factor >= 1"
        )
    return np.repeat(np.asarray(mask, dtype=bool), int(round(factor)))
