"""Streaming preprocessing: 1-s frames in, 1-s blocks at the processing rate out.

:class:`StreamingResampler` keeps the last ``buffer_seconds`` seconds (default 3) of every
channel at its native rate, fills dropped seconds with zeros and tapers the data around
them (:mod:`.taper`), resamples the buffer to ``rate_out`` (default 4096 Hz;
:mod:`.resample`) and returns its middle second. That costs ``buffer_seconds // 2``
seconds of latency (1 s by default) and makes the output equal, to rounding, to
resampling the whole stream at once: the filter reaches at most 10 samples of the lower
rate (0.625 s at 16 Hz) past the second it produces, inside the 1 s on either side.

One difference from offline processing of a whole span remains, by causality: when a
second is dropped, the second before it is tapered out only once the drop is known, after
the second before *that* was produced. The produced second then misses the taper's effect
on the filter's reach into its successor (at most 10 samples of the lower rate; the taper
is still ~1 there for channels of 1024 Hz or more).

Pure numpy/scipy; no I/O, no clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deepclean.utils.frames.resample import FILTER_HALF_WIDTH, ratio, reach_samples, resample
from deepclean.utils.frames.state import samples_per_second
from deepclean.utils.frames.taper import DEFAULT_TAPER_SECONDS, fill_gaps, taper_samples


@dataclass(frozen=True)
class ResampledSecond:
    """One second of every channel at the processing rate."""

    gps: int  #: GPS start of the second
    data: np.ndarray  #: ``(channel, time)`` float64 samples at ``rate_out``
    dropped: bool  #: the frame of this second was dropped: ``data`` is zeros
    tapered: bool  #: dropped, or tapered next to a dropped second (distorted data)
    ready: bool  #: the analysis-ready flag pushed with this second (False if dropped)


class StreamingResampler:
    """Resample consecutive 1-s frames of several channels to one rate, in order.

    Parameters
    ----------
    sample_rates:
        native rate of each channel, Hz (whole numbers; 16 Hz or more for a 3 s buffer).
    rate_out:
        output rate, Hz (default 4096).
    buffer_seconds:
        seconds resampled together (default 3, >= 3); the second at index
        ``(buffer_seconds - 1) // 2`` is produced, so the latency is ``buffer_seconds // 2`` s.
    taper_seconds:
        length of the half-Hann tapers around a dropped second, seconds (0 < t <= 1; default 1).
    """

    def __init__(
        self,
        sample_rates: Sequence[float],
        *,
        rate_out: float = 4096.0,
        buffer_seconds: int = 3,
        taper_seconds: float = DEFAULT_TAPER_SECONDS,
    ) -> None:
        if not sample_rates:
            raise ValueError("sample_rates is empty: give the native rate of every channel")
        if int(buffer_seconds) != buffer_seconds or buffer_seconds < 3:
            raise ValueError(
                f"buffer_seconds {buffer_seconds} must be a whole number >= 3 "
                "(1 s of data each side of the produced second)"
            )
        self.buffer_seconds = int(buffer_seconds)
        self.index = (
            self.buffer_seconds - 1
        ) // 2  #: position of the produced second in the buffer
        self.rate_out = float(rate_out)
        self.samples_out = samples_per_second(rate_out)
        self.rates = [float(r) for r in sample_rates]
        self.samples = [samples_per_second(r) for r in self.rates]
        margin = min(self.index, self.buffer_seconds - 1 - self.index)
        for rate in self.rates:
            reach = FILTER_HALF_WIDTH / min(rate, self.rate_out)
            if rate != self.rate_out and reach > margin:
                raise ValueError(
                    f"a channel at {rate} Hz needs {reach:g} s of data each side of the "
                    "produced second, "
                    f"but a {self.buffer_seconds} s buffer gives {margin} s; use a longer buffer"
                )
        self.tapers = [taper_samples(taper_seconds, r) for r in self.rates]
        # resample only the produced second plus the filter's reach, rounded up to whole output
        # samples
        self.pads = []
        for rate, n in zip(self.rates, self.samples):
            down = ratio(rate, self.rate_out)[1]
            self.pads.append(min(-(-reach_samples(rate, self.rate_out) // down) * down + down, n))
        # buffer_seconds + 1 entries: one extra second of left context for the taper
        self._buffer: deque[tuple[int, list[np.ndarray] | None, bool]] = deque(
            maxlen=self.buffer_seconds + 1
        )

    @property
    def latency_seconds(self) -> int:
        """Seconds between the newest pushed second and the second produced."""
        return self.buffer_seconds - 1 - self.index

    def reset(self) -> None:
        """Forget the buffer (e.g. after a restart); the next push starts a new stream."""
        self._buffer.clear()

    def push(
        self, gps: int, seconds: Sequence[np.ndarray] | None, ready: bool = True
    ) -> ResampledSecond | None:
        """Add the frame of second ``gps`` (one array per channel, or None if dropped).

        Returns the second ``gps - latency_seconds`` once the buffer is full, else None.
        Seconds must be pushed consecutively; a dropped one is pushed as None.
        """
        gps = int(gps)
        if self._buffer and gps != self._buffer[-1][0] + 1:
            raise ValueError(
                f"pushed GPS {gps} after {self._buffer[-1][0]}: push every second in order "
                "(None for a dropped one)"
            )
        if seconds is not None:
            seconds = self._check(gps, seconds)
        self._buffer.append((gps, seconds, bool(ready) and seconds is not None))
        context = len(self._buffer) - self.buffer_seconds  # 1 once the left-context second is in
        if context < 0:
            return None
        out = np.empty((len(self.rates), self.samples_out))
        tapered = False
        for c, (rate, n, taper, pad) in enumerate(
            zip(self.rates, self.samples, self.tapers, self.pads)
        ):
            pieces = [None if s is None else s[c] for _, s, _ in self._buffer]
            joined, touched = fill_gaps(pieces, n, taper)
            tapered |= bool(touched[context + self.index])
            first = (context + self.index) * n - pad  # the produced second and the filter's reach
            block = resample(joined[first : first + n + 2 * pad], rate, self.rate_out)
            skip = pad * self.samples_out // n
            out[c] = block[skip : skip + self.samples_out]
        gps_out, data, ready_out = self._buffer[context + self.index]
        return ResampledSecond(
            gps=gps_out, data=out, dropped=data is None, tapered=tapered, ready=ready_out
        )

    def _check(self, gps: int, seconds: Sequence[np.ndarray]) -> list[np.ndarray]:
        if len(seconds) != len(self.rates):
            raise ValueError(f"GPS {gps}: got {len(seconds)} channels, expected {len(self.rates)}")
        arrays = []
        for c, (piece, n) in enumerate(zip(seconds, self.samples)):
            piece = np.asarray(piece, dtype=np.float64)
            if piece.shape != (n,):
                raise ValueError(
                    f"GPS {gps}: channel {c} holds {piece.shape} samples, expected ({n},) "
                    f"at {self.rates[c]} Hz"
                )
            arrays.append(piece)
        return arrays
