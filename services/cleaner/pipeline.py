"""The cleaner's per-second arithmetic: frames in, cleaned seconds out (no files, no network).

For every GPS second ``g`` pushed (its frames, or a drop):

1. strain and witnesses go through their own :class:`StreamingResampler` (16384 Hz and native
   rates -> ``sample_rate``), which hand back the block ending their filter's reach before the
   end of ``g`` (strain 10 samples, 2.4 ms; witnesses down to 256 Hz 160 samples, 39 ms); the
   second before the first one pushed counts as dropped, so the first second comes out too
   (tapered in);
2. the witness block is sent to Triton through ``infer`` (``stride * batch`` samples per
   update); the noise that comes back covers the block shifted back by the served ``lag``;
3. every second ``o`` whose noise is now known up to ``filter_lead`` past its end is assembled:
   ``o = g - delay``, ``delay = ceil((reach + lag + filter_lead) / 1 s)`` whole frames (1 with
   the defaults: ``filter_lead`` defaults to what the witness reach and the lag leave of one
   frame, 0.93 s at the cpu geometry; when the delay changes, every second is still assembled
   once, in order): the noise of ``[o - filter_memory, o + 1 + filter_lead)``, continued by
   ``LIVE_EXTENSION_S`` of autoregressive prediction, is band-passed with the filter bands of
   the version that made it, gated by analysis readiness (as offline),
   and subtracted from the raw strain; OUT_DQ goes through one OUT_DQ gate per filter band
   (:class:`BandGates`: each band's noise is subtracted only while it helps in that band).

A role's cleaning is *valid* for a second when Triton answered for all of
``[o - noise_settle, o + 1 + filter_lead)`` after the stream's warm-up (``kernel + lag``
samples after the sequence started) and the witnesses were the detector's own (not a drop's
fill or taper) for the windows behind it; otherwise that channel holds the raw strain and its
bit is clear. :attr:`CleanerPipeline.timings` holds the seconds the last push spent resampling,
in Triton and filtering. The types it takes and gives are in :mod:`.seconds`, step 3 is
:mod:`.assemble`.
"""

from __future__ import annotations

import math
import time

import numpy as np

from deepclean.services.cleaner.assemble import assemble
from deepclean.services.cleaner.seconds import (  # noqa: F401 - re-exported: they lived here
    Answer,
    Bands,
    Budget,
    CleanedSecond,
    Infer,
    InputSecond,
)
from deepclean.services.cleaner.track import SampleTrack
from deepclean.utils.frames.naming import STRAIN_RATE_HZ
from deepclean.utils.frames.reader import DroppedFrame, FrameData
from deepclean.utils.frames.state import ready_mask, upsample_mask
from deepclean.utils.frames.stream import ResampledBlock, StreamingResampler
from deepclean.utils.products import VersionInfo
from deepclean.utils.signal.filters import BandpassFilter
from deepclean.utils.signal.outdq_bands import BandGates
from deepclean.utils.signal.postprocess import LIVE_EXTENSION_S
from deepclean.utils.streaming import NETWORK_STRIDE, StreamMode
from deepclean.utils.triton.names import Role
from deepclean.utils.triton.served import ServedStream


class CleanerPipeline:
    """See the module docstring. ``default_bands``: bands used for a version without
    ``version_info``."""

    def __init__(self, sample_rate: float, budget: Budget, default_bands: Bands) -> None:
        self.fs = float(sample_rate)
        self.n = int(round(sample_rate))
        self.budget = budget
        self.default_bands = tuple(tuple(map(float, b)) for b in default_bands)
        self.strain_rs = StreamingResampler(
            [STRAIN_RATE_HZ], rate_out=self.fs, taper_seconds=budget.drop_taper
        )
        self.served: ServedStream | None = None
        self.wit_rs: StreamingResampler | None = None
        self.noise = {role: SampleTrack(self.n) for role in Role}
        self.wit_ok = SampleTrack(self.n)
        self.raw = SampleTrack(self.n)  #: resampled strain, ok where it is the detector's own
        self.ready = SampleTrack(self.n)  #: trusted analysis-ready mask of pushed seconds
        self.inputs: dict[int, InputSecond] = {}
        #: served versions when each second's witnesses were inferred
        self.versions_at: dict[int, dict[Role, int]] = {}
        self.newest: int | None = None  #: the newest second pushed
        self.gate = BandGates(
            self.fs,
            self.default_bands,
            self.default_bands,
            buffer_seconds=budget.outdq_buffer,
            min_seconds=budget.outdq_min,
            taper_seconds=budget.outdq_taper,
            fftlength=budget.outdq_fftlength,
        )
        self._filters: dict[Bands, BandpassFilter] = {}
        self.memory = int(round(budget.filter_memory * self.fs))
        #: samples of predicted noise past the live edge, so the band-pass ends there cleanly
        self.extension = int(round(LIVE_EXTENSION_S * self.fs))
        self.next_out: int | None = None  #: the next second to assemble
        self.settle = int(round(budget.noise_settle * self.fs))
        #: seconds the last push spent per stage: ``resample``, ``triton``, ``filter``
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ configuration
    @property
    def lag(self) -> int:
        """Samples the served noise lags the witnesses it comes from (0 when nothing is served)."""
        return self.served.geometry.lag_samples if self.served else 0

    @property
    def alignment(self) -> int:
        """Samples the witness blocks' first sample is a multiple of, so that DeepClean's windows
        fall where offline cleaning (windows from whole seconds) puts them: the network's stride
        (16), and in the windowed stream mode also the window stride."""
        if self.served is None or self.served.geometry.mode is StreamMode.CONTIGUOUS:
            return NETWORK_STRIDE
        return math.lcm(self.served.geometry.stride, NETWORK_STRIDE)

    @property
    def reach(self) -> int:
        """Samples the witness resampler's blocks end before the newest second's end."""
        return self.wit_rs.delay_samples if self.wit_rs else 0

    @property
    def lead(self) -> int:
        """Samples of future noise band-passed with each second: ``filter_lead``, or by default
        all that the witness reach and the served lag leave of the smallest whole number of
        frames (``ceil((reach + lag) / 1 s) s - reach - lag``)."""
        if self.budget.filter_lead is not None:
            return int(round(self.budget.filter_lead * self.fs))
        ahead = self.reach + self.lag
        return max(1, math.ceil(ahead / self.n)) * self.n - ahead

    @property
    def delay(self) -> int:
        """Whole frames between the newest pushed second and the second assembled: what the
        noise (witness reach + lag + lead) and the raw strain (its resampler's reach) need."""
        noise = self.reach + self.lag + self.lead
        return max(math.ceil(noise / self.n), math.ceil(self.strain_rs.delay_samples / self.n))

    def configure(self, served: ServedStream | None) -> bool:
        """Follow the served stream; True if the channels/geometry changed (witness side
        restarted)."""
        if served is None:
            return False
        changed = not served.same_stream(self.served)
        if changed:
            if served.geometry.update_size and self.n % served.geometry.update_size:
                raise ValueError(
                    f"served update size {served.geometry.update_size} samples does not divide "
                    f"one second ({self.n} samples); cannot stream whole seconds"
                )
            self.wit_rs = None
            for track in (*self.noise.values(), self.wit_ok):
                track.clear()
        self.served = served
        return changed

    def info(self, role: Role, version: int | None = None) -> tuple[VersionInfo, Bands, Bands]:
        """``(info, bands, filter_bands)`` of ``version`` (default: the one serving ``role``;
        defaults when unknown)."""
        if version is None:
            version = self.served.versions[role] if self.served else 0
        info = self.served.info.get(version) if self.served else None
        if info is None:
            return VersionInfo(trained=False), self.default_bands, self.default_bands
        bands = tuple(tuple(map(float, b)) for b in info.bands) or self.default_bands
        return info, bands, tuple(tuple(map(float, b)) for b in info.filter_bands) or bands

    def bandpass(self, bands: Bands) -> BandpassFilter:
        if bands not in self._filters:
            self._filters[bands] = BandpassFilter(bands, self.fs)
        return self._filters[bands]

    # ------------------------------------------------------------------ one second in
    def push(self, item: FrameData | DroppedFrame, infer: Infer | None) -> list[CleanedSecond]:
        g = item.gps
        frame = item if isinstance(item, FrameData) else None
        began = time.perf_counter()
        first = self.newest is None
        self._push_strain(g, frame, first)
        witnesses = None
        if (
            frame is not None
            and self.served is not None
            and frame.witnesses_present
            and tuple(frame.channels) == self.served.channels
        ):
            witnesses = frame.arrays[1:]
        if self.wit_rs is None and witnesses is not None:
            self.wit_rs = StreamingResampler(
                frame.sample_rates[1:],
                rate_out=self.fs,
                taper_seconds=self.budget.drop_taper,
                align=self.alignment,
            )
            self.wit_rs.push(g - 1, None)  # as for the strain: its first second is tapered in
        wrs = self.wit_rs.push(g, witnesses) if self.wit_rs is not None else None
        if wrs is not None:
            self.wit_ok.write(wrs.first_sample, np.zeros(self.n), wrs.clean)
        resampled = time.perf_counter()
        if wrs is not None and infer is not None and self.served is not None:
            self._infer(g, wrs, infer)
        inferred = time.perf_counter()
        self.newest = g
        # every second once, in order, also when the delay changed with the served geometry
        target = g - self.delay
        start = target if self.next_out is None else self.next_out
        out = [c for c in map(self._assemble, range(start, target + 1)) if c is not None]
        self.next_out = max(start, target + 1)
        for table in (self.inputs, self.versions_at):
            for old in [k for k in table if k < g - 12]:
                del table[old]
        self.timings = {
            "resample": resampled - began,
            "triton": inferred - resampled,
            "filter": time.perf_counter() - inferred,
        }
        return out

    def _push_strain(self, g: int, frame: FrameData | None, first: bool) -> ResampledBlock:
        if first:  # the stream's first second: the one before it is unknown, as if dropped
            self.strain_rs.push(g - 1, None)
        rs = self.strain_rs.push(
            g, None if frame is None else [frame.arrays[0]], ready=bool(frame and frame.ready)
        )
        self.raw.write(rs.first_sample, rs.data[0], rs.clean)
        state = None if frame is None else np.asarray(frame.state)
        self.inputs[g] = InputSecond(rs.dropped, rs.tapered, state)
        ready = np.zeros(self.n, dtype=bool)
        if not rs.dropped and not rs.tapered and state is not None:
            ready = upsample_mask(ready_mask(state), len(state), self.fs)
        self.ready.write(g * self.n, ready)
        return rs

    def _infer(self, g: int, wrs: ResampledBlock, infer: Infer) -> None:
        self.versions_at[g] = dict(self.served.versions)
        answer = infer(wrs.data.astype(np.float32), wrs.first_sample)
        if answer is None:
            return
        geometry = self.served.geometry
        first = wrs.first_sample - geometry.lag_samples
        warm = answer.sequence_start + geometry.kernel_size + geometry.lag_samples
        ok = np.arange(first, first + self.n) >= warm
        for role in Role:  # a non-finite prediction is no prediction: never subtracted or written
            noise = answer.noise[role]
            finite = np.isfinite(noise)
            self.noise[role].write(first, np.where(finite, noise, 0.0), ok & finite)

    # ------------------------------------------------------------------ one second out
    def _assemble(self, o: int) -> CleanedSecond | None:
        return assemble(self, o)
