"""The cleaner's per-second arithmetic: frames in, cleaned seconds out (no files, no network).

For every GPS second ``g`` pushed (its frames, or a drop):

1. strain and witnesses go through their own :class:`StreamingResampler` (16384 Hz and native
   rates -> ``sample_rate``), which hands back second ``s = g - 1`` (1 s look-ahead); the
   second before the first one pushed counts as dropped, so the first second comes out too
   (tapered in);
2. the witnesses of ``s`` are sent to Triton through ``infer`` (``stride * batch`` samples per
   update); the noise that comes back covers ``[s - lag, s + 1 - lag)``;
3. second ``o = s - delay`` is assembled, ``delay = ceil((lag + filter_lead) / 1 s)`` (1 s by
   default: ``filter_lead`` defaults to what the lag leaves of that second, 0.5 s windowed and
   0.975 s contiguous; when the delay changes with the served geometry, every second is still
   assembled once, in order): the noise of ``[o - filter_memory, o + 1 + filter_lead)`` is
   band-passed with the filter bands of the version that made it, gated by analysis readiness (as
   offline), and subtracted from the raw strain; OUT_DQ goes through :class:`OutDqGate`.

A role's cleaning is *valid* for a second when Triton answered for all of
``[o - noise_settle, o + 1 + filter_lead)`` after the stream's warm-up (``kernel + lag``
samples after the sequence started) and the witnesses were present for the windows behind it;
otherwise that channel holds the raw strain and its bit is clear.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from deepclean.services.cleaner.output import state_bits
from deepclean.services.cleaner.track import SampleTrack, window_all
from deepclean.utils.frames.naming import STRAIN_RATE_HZ
from deepclean.utils.frames.reader import DroppedFrame, FrameData
from deepclean.utils.frames.state import ready_mask, upsample_mask
from deepclean.utils.frames.stream import ResampledSecond, StreamingResampler
from deepclean.utils.products import StateBit, VersionInfo
from deepclean.utils.signal.filters import BandpassFilter
from deepclean.utils.signal.gate import ready_gate
from deepclean.utils.signal.outdq import OutDqGate
from deepclean.utils.signal.postprocess import filter_noise
from deepclean.utils.triton.names import Role
from deepclean.utils.triton.served import ServedStream

Bands = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Budget:
    """Every look-ahead and context of the pipeline, seconds (see the README's latency table)."""

    resample_buffer: int = 3  #: seconds resampled together (look-ahead buffer // 2 = 1 s)
    drop_taper: float = 1.0  #: half-Hann taper around a dropped second
    filter_memory: float = 2.0  #: past noise band-passed with each second
    filter_lead: float | None = (
        None  #: future noise band-passed with each second (None: what fits in the delay)
    )
    noise_settle: float = 0.5  #: valid noise needed before a second (filter settling)
    ready_taper: float = 1.0  #: noise taper at analysis-ready edges (as clean-offline)
    outdq_buffer: int = 8  #: seconds in the OUT_DQ ASD ratio
    outdq_min: int = 4  #: valid seconds before the first OUT_DQ decision
    outdq_fftlength: float = 2.0
    outdq_taper: float = 1.0


@dataclass(frozen=True)
class Answer:
    """Triton's noise for one second of witnesses."""

    noise: dict[
        Role, np.ndarray
    ]  #: ``(samples,)`` per role, covering ``[first - lag, first + n - lag)``
    sequence_start: int  #: absolute sample at which the answering sequence started


#: ``infer(witnesses (W, n) float32, first absolute sample) -> Answer | None``
Infer = Callable[[np.ndarray, int], "Answer | None"]


@dataclass
class CleanedSecond:
    """Everything a cleaned frame holds for one second (see :mod:`deepclean.utils.products`)."""

    gps: int
    raw: np.ndarray
    production: np.ndarray
    canary: np.ndarray
    out_dq: np.ndarray
    input_state: np.ndarray  #: the input's 16 Hz state vector
    bits: np.ndarray  #: ``(16,)`` int32 StateBit flags
    versions: dict[Role, int]  #: 0 where unknown
    valid: dict[Role, bool] = field(default_factory=dict)
    ratio: float | None = None  #: OUT_DQ gate's in-band ASD ratio
    cleaned_fraction: float = 0.0  #: mean of the OUT_DQ gate over the second


class CleanerPipeline:
    """See the module docstring. ``default_bands``: bands used for a version without
    ``version_info``."""

    def __init__(self, sample_rate: float, budget: Budget, default_bands: Bands) -> None:
        self.fs = float(sample_rate)
        self.n = int(round(sample_rate))
        self.budget = budget
        self.default_bands = tuple(tuple(map(float, b)) for b in default_bands)
        self.strain_rs = StreamingResampler(
            [STRAIN_RATE_HZ],
            rate_out=self.fs,
            buffer_seconds=budget.resample_buffer,
            taper_seconds=budget.drop_taper,
        )
        self.served: ServedStream | None = None
        self.wit_rs: StreamingResampler | None = None
        self.noise = {role: SampleTrack(self.n) for role in Role}
        self.wit_ok = SampleTrack(self.n)
        self.ready = SampleTrack(self.n)  #: trusted analysis-ready mask of resampled seconds
        self.raw: dict[int, ResampledSecond] = {}
        self.versions_at: dict[
            int, dict[Role, int]
        ] = {}  #: served versions when each second was inferred
        self.states: dict[int, np.ndarray | None] = {}
        self.started = False
        self.ready_raw: tuple[int | None, np.ndarray | None] = (
            None,
            None,
        )  #: newest pushed second's ready mask
        self.gate = OutDqGate(
            self.fs,
            self.default_bands,
            buffer_seconds=budget.outdq_buffer,
            min_seconds=budget.outdq_min,
            taper_seconds=budget.outdq_taper,
            fftlength=budget.outdq_fftlength,
        )
        self._filters: dict[Bands, BandpassFilter] = {}
        self.memory = int(round(budget.filter_memory * self.fs))
        self.next_out: int | None = None  #: the next second to assemble
        self.settle = int(round(budget.noise_settle * self.fs))

    # ------------------------------------------------------------------ configuration
    @property
    def lead(self) -> int:
        """Samples of future noise band-passed with each second: ``filter_lead``, or by default all
        that the served lag leaves of the smallest whole-second delay (``ceil(lag / 1 s) s -
        lag``)."""
        if self.budget.filter_lead is not None:
            return int(round(self.budget.filter_lead * self.fs))
        lag = self.served.geometry.lag_samples if self.served else 0
        return max(1, math.ceil(lag / self.n)) * self.n - lag

    @property
    def delay(self) -> int:
        """Seconds between the newest resampled second and the second assembled."""
        lag = self.served.geometry.lag_samples if self.served else 0
        return max(1, math.ceil((lag + self.lead) / self.n))

    def configure(self, served: ServedStream | None) -> bool:
        """Follow the served stream; True if the channels/geometry changed (witness side
        restarted)."""
        if served is None:
            return False
        changed = not served.same_stream(self.served)
        if changed:
            if served.geometry.update_size and self.n % served.geometry.update_size:
                raise ValueError(
                    f"served update size {served.geometry.update_size} samples does not "
                    "divide one second "
                    f"({self.n} samples); cannot stream whole seconds"
                )
            self.wit_rs = None
            for track in (*self.noise.values(), self.wit_ok):
                track.clear()
        self.served = served
        self.gate.set_bands(self.info(Role.PRODUCTION)[1])
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
        self.states[g] = None if frame is None else np.asarray(frame.state)
        self.ready_raw = (
            g,
            None
            if frame is None
            else upsample_mask(ready_mask(frame.state), len(frame.state), self.fs),
        )
        if (
            not self.started
        ):  # the stream's first second: the one before it is unknown, as if dropped
            self.strain_rs.push(g - 1, None)
            self.started = True
        rs = self.strain_rs.push(
            g, None if frame is None else [frame.arrays[0]], ready=bool(frame and frame.ready)
        )
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
                buffer_seconds=self.budget.resample_buffer,
                taper_seconds=self.budget.drop_taper,
            )
            self.wit_rs.push(
                g - 1, None
            )  # as for the strain: so its first second comes out with the strain's
        wrs = self.wit_rs.push(g, witnesses) if self.wit_rs is not None else None
        if rs is None:
            return []
        s = rs.gps
        self.raw[s] = rs
        ready = np.zeros(self.n, dtype=bool)
        if not rs.dropped and not rs.tapered and self.states.get(s) is not None:
            state = self.states[s]
            ready = upsample_mask(ready_mask(state), len(state), self.fs)
        self.ready.write(s * self.n, ready)
        good = wrs is not None and not wrs.dropped and not wrs.tapered
        self.wit_ok.write(s * self.n, np.zeros(self.n), good)
        if wrs is not None and infer is not None and self.served is not None:
            self.versions_at[s] = dict(self.served.versions)
            answer = infer(wrs.data.astype(np.float32), s * self.n)
            if answer is not None:
                g_ = self.served.geometry
                first = s * self.n - g_.lag_samples
                warm = answer.sequence_start + g_.kernel_size + g_.lag_samples
                ok = np.arange(first, first + self.n) >= warm
                for role in (
                    Role
                ):  # a non-finite prediction is no prediction: never subtracted, never written
                    noise = answer.noise[role]
                    finite = np.isfinite(noise)
                    self.noise[role].write(first, np.where(finite, noise, 0.0), ok & finite)
        # every second once, in order, also when the delay changed with the served geometry
        target = s - self.delay
        first = target if self.next_out is None else self.next_out
        out = [c for c in map(self._assemble, range(first, target + 1)) if c is not None]
        self.next_out = max(first, target + 1)
        for old in [k for k in self.raw if k < s - 12]:
            del self.raw[old]
        for old in [k for k in self.states if k < s - 12]:
            del self.states[old]
        for old in [k for k in self.versions_at if k < s - 12]:
            del self.versions_at[old]
        return out

    # ------------------------------------------------------------------ one second out
    def _ready_gate(self, o: int) -> np.ndarray:
        n = self.n
        mask = np.ones(9 * n, dtype=bool)  # seconds o-4 .. o+4; unknown seconds count as ready
        for i, sec in enumerate(range(o - 2, o + 3)):
            if sec in self.raw:
                mask[(i + 2) * n : (i + 3) * n] = self.ready.read(sec * n, (sec + 1) * n)[0] > 0
            elif self.ready_raw[0] == sec:
                raw = self.ready_raw[1]
                mask[(i + 2) * n : (i + 3) * n] = False if raw is None else raw
        return ready_gate(mask, int(round(self.budget.ready_taper * self.fs)))[4 * n : 5 * n]

    def _assemble(self, o: int) -> CleanedSecond | None:
        rs = self.raw.get(o)
        if rs is None or rs.dropped:
            if rs is not None:  # no data: an invalid second for the OUT_DQ gate
                self.gate.push(np.zeros(self.n), np.zeros(self.n), valid=False)
            return None
        n, raw = self.n, rs.data[0]
        geometry = self.served.geometry if self.served else None
        rgate = self._ready_gate(o)
        cleaned, filtered, valid, versions, trained = {}, {}, {}, {}, {}
        wit_context = False
        if geometry is not None:
            k, lag = geometry.kernel_size, geometry.lag_samples
            wit_context = self.wit_ok.all_ok(o * n - self.settle - k, (o + 1) * n + self.lead + lag)
        # the versions behind the newest update contributing to this second (the aggregators blend
        # old and new predictions over max_latency after a switch)
        current = dict(self.served.versions) if self.served else dict.fromkeys(Role, 0)
        behind = self.versions_at.get(o + self.delay, current)
        for role in Role:
            versions[role] = behind[role]
            info, _, fbands = self.info(role, versions[role])
            trained[role] = info.trained
            values, ok = self.noise[role].read(o * n - self.memory, (o + 1) * n + self.lead)
            valid[role] = wit_context and bool(ok[self.memory - self.settle :].all())
            filtered[role] = (
                filter_noise(values, self.bandpass(fbands), self.memory, self.lead)
                if valid[role]
                else 0.0
            )
            cleaned[role] = raw - rgate * filtered[role] if valid[role] else raw.copy()
        usable = valid[Role.PRODUCTION] and trained[Role.PRODUCTION]
        decision = self.gate.push(raw, cleaned[Role.PRODUCTION], valid=usable)
        gate = decision.gate * rgate if usable else np.zeros(n)
        out_dq = raw - gate * filtered[Role.PRODUCTION] if usable else raw.copy()
        if geometry is not None:
            k, lag = geometry.kernel_size, geometry.lag_samples
            present = window_all(self.wit_ok.read(o * n - k, (o + 1) * n + lag)[1], k, lag)
        else:
            present = np.zeros(n, dtype=bool)
        state = self.states.get(o)
        state = np.zeros(16, dtype=np.int64) if state is None else state
        masks = {
            StateBit.OUT_DQ_CLEANED: gate >= 1.0,
            StateBit.PRODUCTION_TRAINED: trained[Role.PRODUCTION],
            StateBit.WITNESSES_PRESENT: present,
            StateBit.TAPERED: rs.tapered,
            StateBit.CANARY_DIFFERS: versions[Role.PRODUCTION] != versions[Role.CANARY],
            StateBit.PRODUCTION_VALID: valid[Role.PRODUCTION],
            StateBit.CANARY_VALID: valid[Role.CANARY],
            StateBit.INPUT_READY: upsample_mask(ready_mask(state), len(state), self.fs),
            StateBit.CANARY_TRAINED: trained[Role.CANARY],
        }
        return CleanedSecond(
            gps=o,
            raw=raw,
            production=cleaned[Role.PRODUCTION],
            canary=cleaned[Role.CANARY],
            out_dq=out_dq,
            input_state=state,
            bits=state_bits(masks, n),
            versions=versions,
            valid=valid,
            ratio=decision.ratio,
            cleaned_fraction=float(gate.mean()),
        )
