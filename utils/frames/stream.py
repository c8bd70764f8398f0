"""Streaming preprocessing: 1-s frames in, 1-s blocks at the processing rate out, a few
milliseconds behind.

:class:`StreamingResampler` resamples each channel with the polyphase anti-aliasing filter of
:mod:`.resample` (``scipy.signal.resample_poly`` with its Kaiser FIR), applied with carried
state: the input samples the filter still needs from earlier seconds are kept and prepended to
each new second, so every output sample is what resampling the whole stream at once gives (to
rounding). The look-ahead is the filter's reach, no more: after the frame of second ``g`` is
pushed, the block returned ends :attr:`~StreamingResampler.delay_samples` output samples before
the end of ``g`` (the reach into later data of the slowest channel: 2.4 ms for strain at 16384
Hz, 39 ms for a witness at 256 Hz, 0.625 s at 16 Hz), so block ``g`` covers output samples
``[g * n - delay, (g + 1) * n - delay)`` with ``n`` samples per second.

Dropped seconds need no look-ahead either (:mod:`.taper`): a dropped second is filled with the
mirror image of the data before it fading out, and the second after it is tapered in; data
already received are never altered, so a drop is handled the moment it is declared.

Pure numpy/scipy; no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deepclean.utils.frames.resample import FILTER_HALF_WIDTH, ratio, resample
from deepclean.utils.frames.state import samples_per_second
from deepclean.utils.frames.taper import (
    DEFAULT_TAPER_SECONDS,
    check_second,
    fade_out,
    taper_in,
    taper_samples,
)


def delay_samples(rate_in: float, rate_out: float) -> int:
    """Output samples by which streamed resampling from ``rate_in`` Hz lags the input's end:
    the filter's reach past an output sample, ``FILTER_HALF_WIDTH * max(up, down) // down``
    (10 samples at 16384 -> 4096 Hz, 160 at 256 -> 4096 Hz; 0 without resampling)."""
    up, down = ratio(rate_in, rate_out)
    return 0 if up == down else FILTER_HALF_WIDTH * max(up, down) // down


@dataclass(frozen=True)
class ResampledBlock:
    """One second's worth of every channel at the processing rate, ``delay`` samples early."""

    gps: int  #: the second pushed
    first_sample: int  #: absolute output sample of ``data[:, 0]``: ``gps * n - delay``
    data: np.ndarray  #: ``(channel, n)`` float64 samples at the output rate
    dropped: bool  #: the frame of ``gps`` was dropped: its second holds the fade-out fill
    tapered: bool  #: dropped, or tapered in after a dropped second (not the detector's data)
    ready: bool  #: the analysis-ready flag pushed with this second (False if dropped)
    #: ``(n,)`` True where the output depends on the detector's own data only: not on a fill, a
    #: taper or the zeros before the stream (the filter reaches ``delay`` samples both ways)
    clean: np.ndarray


class _RateGroup:
    """The channels sharing one native rate: their carried input and their filter geometry."""

    def __init__(self, rows: list[int], rate: float, rate_out: float, taper: int) -> None:
        self.rows, self.rate, self.taper = rows, rate, taper
        self.n = samples_per_second(rate)
        self.up, self.down = ratio(rate, rate_out)
        self.reach = -(-FILTER_HALF_WIDTH * max(self.up, self.down) // self.up)  # input samples
        self.history = np.zeros((len(rows), 0))  #: the newest input samples, as streamed
        self.last: np.ndarray | None = None  #: the previous second's samples (None: dropped)


class StreamingResampler:
    """Resample consecutive 1-s frames of several channels to one rate, in order.

    Parameters
    ----------
    sample_rates:
        native rate of each channel, Hz (whole numbers).
    rate_out:
        output rate, Hz (default 4096).
    taper_seconds:
        length of the fade-out after and the taper-in before data around a dropped second,
        seconds (0 < t <= 1; default 1).
    align:
        the delay is rounded up to a multiple of this many output samples (default 1), so that
        blocks start on a grid a consumer needs (the cleaner: DeepClean's windows, which offline
        cleaning places from whole seconds).
    """

    def __init__(
        self,
        sample_rates: Sequence[float],
        *,
        rate_out: float = 4096.0,
        taper_seconds: float = DEFAULT_TAPER_SECONDS,
        align: int = 1,
    ) -> None:
        if not sample_rates:
            raise ValueError("sample_rates is empty: give the native rate of every channel")
        self.rate_out = float(rate_out)
        self.samples_out = samples_per_second(rate_out)
        self.rates = [float(r) for r in sample_rates]
        for rate in self.rates:
            samples_per_second(rate)  # a whole number of samples per second
        #: output samples the blocks lag the pushed seconds by (the slowest channel's reach)
        if int(align) != align or align < 1:
            raise ValueError(f"align {align!r} must be a whole number of samples >= 1")
        reach = max(delay_samples(r, self.rate_out) for r in self.rates)
        self.delay_samples = -(-reach // int(align)) * int(align)
        if reach >= self.samples_out:
            slow = min(self.rates)
            raise ValueError(
                f"a channel at {slow} Hz needs {FILTER_HALF_WIDTH / slow:g} s of later data, more "
                "than one second; allowed: channels of 16 Hz or more"
            )
        if self.delay_samples >= self.samples_out:
            raise ValueError(
                f"align {align} samples rounds the delay to {self.delay_samples} samples, one "
                f"second ({self.samples_out} samples) or more"
            )
        self.groups = [
            _RateGroup(
                [c for c, r in enumerate(self.rates) if r == rate],
                rate,
                self.rate_out,
                taper_samples(taper_seconds, rate),
            )
            for rate in sorted(set(self.rates))
        ]
        self.next_gps: int | None = None
        self._touched_before = True  #: the second before the next push is not the detector's

    @property
    def delay_seconds(self) -> float:
        """The look-ahead in seconds (``delay_samples / rate_out``)."""
        return self.delay_samples / self.rate_out

    def reset(self) -> None:
        """Forget the carried data (e.g. after a restart); the next push starts a new stream,
        as if the data before it were zeros."""
        self.next_gps = None
        self._touched_before = True
        for group in self.groups:
            group.history = np.zeros((len(group.rows), 0))
            group.last = None

    def push(
        self, gps: int, seconds: Sequence[np.ndarray] | None, ready: bool = True
    ) -> ResampledBlock:
        """Add the frame of second ``gps`` (one array per channel, or None if dropped) and return
        the block ``[gps * n - delay, (gps + 1) * n - delay)``. Seconds must be pushed
        consecutively; a dropped one is pushed as None. Before the first push the stream is
        zeros."""
        gps = int(gps)
        if self.next_gps is not None and gps != self.next_gps:
            raise ValueError(
                f"pushed GPS {gps} after {self.next_gps - 1}: push every second in order "
                "(None for a dropped one)"
            )
        if seconds is not None:
            seconds = self._check(gps, seconds)
        first = self.next_gps is None
        self.next_gps = gps + 1
        out = np.empty((len(self.rates), self.samples_out))
        tapered = seconds is None
        for group in self.groups:
            if seconds is None:
                new = (
                    np.zeros((len(group.rows), group.n))
                    if group.last is None
                    else np.stack([fade_out(row, group.taper) for row in group.last])
                )
            else:
                new = np.stack([seconds[c] for c in group.rows])
                if group.last is None and not first:
                    new = np.stack([taper_in(row, group.taper) for row in new])
                    tapered = True
            group.last = None if seconds is None else new
            out[group.rows] = self._resample(group, gps, new)
        clean = np.full(self.samples_out, not tapered)
        if self._touched_before:  # the block's start and the reach after it see the second before
            clean[: 2 * self.delay_samples] = False
        self._touched_before = tapered
        return ResampledBlock(
            gps=gps,
            first_sample=gps * self.samples_out - self.delay_samples,
            data=out,
            dropped=seconds is None,
            tapered=tapered,
            ready=bool(ready) and seconds is not None,
            clean=clean,
        )

    def _resample(self, group: _RateGroup, gps: int, new: np.ndarray) -> np.ndarray:
        """Output samples ``[gps * n - delay, (gps + 1) * n - delay)`` of ``group``'s channels
        from the carried input and the ``new`` second."""
        n_out, delay = self.samples_out, self.delay_samples
        joined = np.concatenate([group.history, new], axis=1)
        end = (gps + 1) * group.n  # absolute input sample after the newest one
        k0 = gps * n_out - delay
        if group.up == group.down:
            start = k0
        else:  # the filter's reach before the block's first output, on a multiple of `down` so
            # that the segment's output samples fall on the stream's output grid
            start = (k0 * group.down // group.up - group.reach - 1) // group.down * group.down
        have = end - joined.shape[1]  # absolute input sample of joined[:, 0]
        if start < have:  # the stream's beginning: zeros before it
            joined = np.concatenate([np.zeros((joined.shape[0], have - start)), joined], axis=1)
            have = start
        segment = joined[:, start - have :]
        # carried to the next second: from its block's first input sample on
        keep = end - (start + n_out * group.down // group.up) + group.down
        group.history = segment[:, -keep:]
        if group.up == group.down:
            return segment[:, :n_out].copy()
        block = resample(segment, group.rate, self.rate_out, axis=-1)
        skip = k0 - start * group.up // group.down
        return block[:, skip : skip + n_out]

    def _check(self, gps: int, seconds: Sequence[np.ndarray]) -> list[np.ndarray]:
        if len(seconds) != len(self.rates):
            raise ValueError(f"GPS {gps}: got {len(seconds)} channels, expected {len(self.rates)}")
        return [
            check_second(piece, samples_per_second(rate), f"GPS {gps}: channel {c} at {rate} Hz")
            for c, (piece, rate) in enumerate(zip(seconds, self.rates))
        ]
