"""Anti-aliased polyphase resampling between whole-number sample rates (pure numpy/scipy).

Every channel is brought to the processing rate (4096 Hz) with
``scipy.signal.resample_poly`` and a Kaiser-windowed sinc low-pass designed here rather than
scipy's default: the default (half-length 10, beta 5) changes a 60 Hz sine's amplitude by up
to 2e-3 for some witness rates, this one (beta 8) by < 1e-4 (tests/utils/frames).

The filter reaches :data:`FILTER_HALF_WIDTH` samples of the *lower* of the two rates on
either side of each output sample: 10 samples, i.e. 2.4 ms at 4096 Hz and 0.625 s at
16 Hz. Samples further than that from an edge of the input are exactly what resampling an
arbitrarily longer span would give, which is what lets the streaming resampler
(:mod:`.stream`) match offline resampling of a whole span. Passband: flat (< 1e-4) up to
~0.37 of the lower rate; stopband from ~0.63 of it.
"""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np
from scipy import signal

FILTER_HALF_WIDTH = 10  #: filter half-length, in samples of the lower of the two rates
KAISER_BETA = 8.0  #: Kaiser window shape of the anti-aliasing filter (~80 dB stopband)


def _whole_rate(rate: float, what: str) -> int:
    whole = int(round(rate))
    if whole < 1 or abs(rate - whole) > 1e-9 * rate:
        raise ValueError(f"{what} {rate} Hz is not a positive whole number of Hz")
    return whole


def ratio(rate_in: float, rate_out: float) -> tuple[int, int]:
    """``(up, down)``: the reduced integer factors taking ``rate_in`` Hz to ``rate_out`` Hz."""
    fraction = Fraction(
        _whole_rate(rate_out, "output sample rate"), _whole_rate(rate_in, "input sample rate")
    )
    return fraction.numerator, fraction.denominator


def edge_seconds(rate_in: float, rate_out: float) -> float:
    """Seconds at each end of a resampled span that depend on data beyond the span."""
    return 0.0 if rate_in == rate_out else FILTER_HALF_WIDTH / min(rate_in, rate_out)


def reach_samples(rate_in: float, rate_out: float) -> int:
    """Input samples on each side of an output sample that the filter uses."""
    up, down = ratio(rate_in, rate_out)
    return 0 if up == down else -(-FILTER_HALF_WIDTH * max(up, down) // up)


@functools.lru_cache(maxsize=64)
def _filter(up: int, down: int) -> np.ndarray:
    longest = max(up, down)
    taps = signal.firwin(
        2 * FILTER_HALF_WIDTH * longest + 1, 1.0 / longest, window=("kaiser", KAISER_BETA)
    )
    taps.setflags(write=False)
    return taps


def resample(data: np.ndarray, rate_in: float, rate_out: float, axis: int = -1) -> np.ndarray:
    """Resample ``data`` along ``axis`` from ``rate_in`` Hz to ``rate_out`` Hz (float64).

    Both rates must be whole numbers of Hz. Output sample ``k`` is at time ``k / rate_out``
    from the first input sample; a span of ``n / rate_in`` seconds gives
    ``n * rate_out / rate_in`` samples (must be whole). Beyond the span the data are taken
    as zeros, which affects :func:`edge_seconds` at each end.
    """
    data = np.asarray(data, dtype=np.float64)
    up, down = ratio(rate_in, rate_out)
    n = data.shape[axis]
    if (n * up) % down:
        raise ValueError(
            f"{n} samples at {rate_in} Hz do not make a whole number of samples at {rate_out} Hz"
        )
    if up == down == 1:
        return data.copy()
    return signal.resample_poly(data, up, down, axis=axis, window=_filter(up, down))
