"""The cleaner's per-second pipeline without Triton, against a whole-span offline computation.

The stand-in for Triton runs the same numpy snapshotter/averager and a torch DeepClean per
sequence. The oracle resamples the whole span at once, predicts the noise with
:func:`deepclean.utils.nn.inference.predict_noise`, band-passes it with ``sosfiltfilt`` over
the whole span and gates it by readiness, as ``clean-offline`` does.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepclean.services.cleaner.output import state_bits
from deepclean.services.cleaner.pipeline import Answer, Budget, CleanerPipeline
from deepclean.services.cleaner.track import SampleTrack, window_all
from deepclean.utils.frames.gwf import Channel
from deepclean.utils.frames.reader import DroppedFrame, FrameData
from deepclean.utils.frames.resample import resample
from deepclean.utils.frames.taper import fill_gaps
from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.nn.inference import predict_noise, torch_predictor
from deepclean.utils.products import StateBit, VersionInfo
from deepclean.utils.signal.filters import BandpassFilter
from deepclean.utils.signal.gate import ready_gate
from deepclean.utils.streaming import OnlineAverager, Snapshotter, StreamGeometry
from deepclean.utils.triton.names import Role
from deepclean.utils.triton.served import ServedStream

FS, N = 4096.0, 4096
G0, SECONDS = 1_400_000_000, 22
STRAIN, WITNESSES = "H1:GDS-CALIB_STRAIN", ("H1:ASC-A_OUT_DQ", "H1:PEM-B_DQ")
RATES = (512.0, 1024.0)
GEOMETRY = StreamGeometry.from_seconds(
    kernel_length=1.0, stride_length=1 / 8, sample_rate=FS, batch_size=2, max_latency=0.5
)
INFO = VersionInfo(trained=True, bands=[[58.0, 62.0]], filter_bands=[[57.0, 63.0]])
BANDS = ((58.0, 62.0),)


def served(production: int = 1, canary: int = 2, info: dict | None = None) -> ServedStream:
    return ServedStream(
        (STRAIN, *WITNESSES),
        FS,
        GEOMETRY,
        {Role.PRODUCTION: production, Role.CANARY: canary},
        info if info is not None else {1: INFO, 2: INFO},
    )


@pytest.fixture(scope="module")
def data() -> dict:
    torch.set_num_threads(1)  # tiny convolutions: threads only contend on a shared machine
    rng = np.random.default_rng(1)
    seconds = SECONDS + 2
    t = np.arange(seconds * 16384) / 16384
    witnesses = [rng.normal(size=int(seconds * r)) for r in RATES]
    witnesses[1] += 3 * np.sin(2 * np.pi * 60 * np.arange(seconds * 1024) / 1024)
    strain = 1e-3 * rng.normal(size=t.size) + 0.05 * np.sin(2 * np.pi * 60.2 * t)
    torch.manual_seed(0)
    model = DeepCleanModel(2)
    model.witness_scaler.fit(
        np.stack([resample(w, r, FS) for w, r in zip(witnesses, RATES)]).astype(np.float32)
    )
    model.target_scaler.fit(resample(strain, 16384, FS).astype(np.float32))
    return {"strain": strain, "witnesses": witnesses, "model": model.eval()}


def frame(data: dict, i: int, *, witnesses: bool = True) -> FrameData:
    gps = G0 + i
    channels = {
        STRAIN: Channel(STRAIN, data["strain"][i * 16384 : (i + 1) * 16384], 16384.0, float(gps))
    }
    if witnesses:
        for name, w, r in zip(WITNESSES, data["witnesses"], RATES):
            n = int(r)
            channels[name] = Channel(name, w[i * n : (i + 1) * n], r, float(gps))
    return FrameData(
        gps=gps,
        channels=channels,
        state=np.full(16, 3, dtype=np.uint32),
        witness_error="" if witnesses else "witness: missing",
    )


class FakeTriton:
    """The ensemble in-process: snapshotter -> model (canary: half of it) -> averager, per
    sequence."""

    def __init__(self, model: DeepCleanModel, fail: set[int] = frozenset()) -> None:
        self.predict, self.fail = torch_predictor(model), fail
        self.next, self.start = None, None

    def __call__(self, witnesses: np.ndarray, first: int) -> Answer | None:
        if -(-first // N) in self.fail:  # the second a witness block ends in
            self.next = None
            return None
        if first != self.next:
            self.snap, self.avg = (
                Snapshotter(witnesses.shape[0], GEOMETRY),
                OnlineAverager(GEOMETRY),
            )
            self.start = first
        out = []
        for i in range(0, N, GEOMETRY.update_size):
            out.append(
                self.avg.update(
                    self.predict(self.snap.update(witnesses[:, i : i + GEOMETRY.update_size]))
                )
            )
        self.next = first + N
        noise = np.concatenate(out)
        return Answer({Role.PRODUCTION: noise, Role.CANARY: 0.5 * noise}, self.start)


def run(data: dict, items, infer, budget: Budget = Budget(), info: dict | None = None) -> dict:  # noqa: B008
    pipeline = CleanerPipeline(FS, budget, BANDS)
    pipeline.configure(served(info=info))
    out = {}
    for item in items:
        for second in pipeline.push(item, infer):
            assert second.gps not in out
            out[second.gps] = second
    return out


def oracle(data: dict, memory_start: int = 0) -> dict:
    """Whole-span production cleaning of seconds G0.. (first second tapered in, as the live
    stream)."""

    def whole(x, rate):
        n = int(rate)
        pieces = [None] + [x[i * n : (i + 1) * n] for i in range(SECONDS)]
        joined, _ = fill_gaps(pieces, n, n)
        return resample(joined, rate, FS)[N:]

    raw = whole(data["strain"], 16384.0)
    witnesses = np.stack([whole(w, r) for w, r in zip(data["witnesses"], RATES)])
    noise = predict_noise(data["model"], witnesses, GEOMETRY)
    filtered = BandpassFilter(((57.0, 63.0),), FS)(noise)
    ready = np.ones(len(noise), dtype=bool)
    ready[:N] = False  # the first second is tapered: not trusted
    gate = ready_gate(ready, N)
    return {
        "raw": raw[: len(noise)],
        "production": raw[: len(noise)] - gate * filtered,
        "filtered": filtered,
    }


def test_long_padding_matches_the_whole_span_computation(data) -> None:
    budget = Budget(filter_memory=4.0, filter_lead=1.5)
    out = run(data, [frame(data, i) for i in range(SECONDS)], FakeTriton(data["model"]), budget)
    # delay 3 frames: witness reach (0.125 s, on the 1/8 s window grid) + lag 0.5 s + lead 1.5 s
    assert sorted(out) == list(range(G0, G0 + SECONDS - 3))
    ref = oracle(data)
    scale = np.abs(ref["filtered"]).max()
    for gps in range(G0 + 8, G0 + SECONDS - 3):  # filter memory clear of the warm-up
        i = (gps - G0) * N
        np.testing.assert_allclose(out[gps].raw, ref["raw"][i : i + N], rtol=0, atol=1e-9)
        err = np.abs(out[gps].production - ref["production"][i : i + N]).max()
        assert err < 5e-3 * scale, (gps, err / scale)
        assert out[gps].valid[Role.PRODUCTION] and out[gps].valid[Role.CANARY]


def test_default_budget_bits_gate_and_first_second(data) -> None:
    out = run(data, [frame(data, i) for i in range(SECONDS)], FakeTriton(data["model"]))
    # delay 1 frame: witness reach + lag + the default lead fill one frame
    assert sorted(out) == list(range(G0, G0 + SECONDS - 1))
    assert np.all(out[G0].bits & StateBit.TAPERED) and not out[G0].valid[Role.PRODUCTION]
    for gps in range(G0 + 3, G0 + SECONDS - 1):
        assert out[gps].valid[Role.PRODUCTION], gps  # kernel + lag + settle after the start
    assert [out[g].ratio for g in range(G0 + 3, G0 + 6)] == [
        None
    ] * 3  # the gate's first min_seconds - 1
    assert all(out[g].ratio is not None for g in range(G0 + 6, G0 + SECONDS - 1))
    for second in out.values():  # OUT_DQ is raw, fully cleaned, or (a taper second) in between
        if second.cleaned_fraction == 0.0:
            np.testing.assert_array_equal(second.out_dq, second.raw)
        elif second.cleaned_fraction == 1.0:
            np.testing.assert_allclose(second.out_dq, second.production, rtol=0, atol=1e-15)
            assert np.all(second.bits & StateBit.OUT_DQ_CLEANED)
    # the removed noise against the whole-span band-pass, at the default lead (0.375 s here:
    # 1 s - reach 0.125 s - lag 0.5 s). This untrained model's noise is broadband, so the
    # prediction past the live edge helps less than on mains (rms 4.7% here, 7.9% without it)
    ref, seconds = oracle(data), range(G0 + 8, G0 + SECONDS - 1)
    removed = np.concatenate([out[g].raw - out[g].production for g in seconds])
    ref_removed = np.concatenate(
        [(ref["raw"] - ref["production"])[(g - G0) * N : (g - G0 + 1) * N] for g in seconds]
    )
    assert np.sqrt(np.mean((removed - ref_removed) ** 2) / np.mean(ref_removed**2)) < 0.06
    last = out[max(out)]
    assert np.all(last.bits & StateBit.CANARY_DIFFERS) and last.versions == {
        Role.PRODUCTION: 1,
        Role.CANARY: 2,
    }
    assert not np.array_equal(last.canary, last.production)


def test_drop_witness_gap_and_triton_outage(data) -> None:
    dropped, no_witness, outage = G0 + 8, G0 + 14, {G0 + 17}
    items = [
        DroppedFrame(G0 + i, "gone")
        if G0 + i == dropped
        else frame(data, i, witnesses=G0 + i != no_witness)
        for i in range(SECONDS)
    ]
    out = run(data, items, FakeTriton(data["model"], fail=outage))
    assert dropped not in out and sorted(out) == [
        g for g in range(G0, G0 + SECONDS - 1) if g != dropped
    ]
    for gps in (dropped - 1, dropped + 1):  # the witness context reaches into the drop: raw
        np.testing.assert_array_equal(out[gps].out_dq, out[gps].raw)
    # the second after the drop is tapered in; the one before keeps the detector's data (the
    # fill fades out inside the gap) except within the resampler's reach (10 samples) of it
    assert np.all(out[dropped + 1].bits & StateBit.TAPERED)
    assert not np.any(out[dropped - 1].bits & StateBit.TAPERED)
    intact = run(data, [frame(data, i) for i in range(10)], None)[dropped - 1].raw
    np.testing.assert_array_equal(out[dropped - 1].raw[:-10], intact[:-10])
    assert np.abs(out[dropped - 1].raw[-10:] - intact[-10:]).max() > 0
    gap = out[no_witness]
    assert not np.any(gap.bits & (StateBit.WITNESSES_PRESENT | StateBit.OUT_DQ_CLEANED))
    np.testing.assert_array_equal(gap.out_dq, gap.raw)
    down = out[G0 + 17 - 1]  # its noise needs the answer for the second after it
    assert not down.valid[Role.PRODUCTION] and not np.any(down.bits & StateBit.PRODUCTION_VALID)
    np.testing.assert_array_equal(down.production, down.raw)


def test_untrained_production_leaves_out_dq_raw(data) -> None:
    info = {
        1: VersionInfo(trained=False, bands=[[58.0, 62.0]], filter_bands=[[57.0, 63.0]]),
        2: INFO,
    }
    out = run(data, [frame(data, i) for i in range(12)], FakeTriton(data["model"]), info=info)
    for second in out.values():
        np.testing.assert_array_equal(second.out_dq, second.raw)
        assert not np.any(second.bits & (StateBit.PRODUCTION_TRAINED | StateBit.OUT_DQ_CLEANED))
    assert np.all(out[G0 + 8].bits & (StateBit.CANARY_TRAINED | StateBit.PRODUCTION_VALID))


def test_default_lead_fills_the_whole_second_delay(data) -> None:
    contiguous = StreamGeometry.from_seconds(
        kernel_length=1.0,
        stride_length=1 / 32,
        sample_rate=FS,
        batch_size=8,
        max_latency=None,
        mode="contiguous",
    )
    # windowed: lag 0.5 s, witness reach 80 samples (512 Hz) on the 1/8 s window grid: 512;
    # contiguous: lag 128 samples, reach 80 samples (a multiple of the network's stride, 16)
    for geometry, reach, lead in ((GEOMETRY, 512, N - 512 - 2048), (contiguous, 80, N - 208)):
        pipeline = CleanerPipeline(FS, Budget(), BANDS)
        pipeline.configure(
            ServedStream(
                (STRAIN, *WITNESSES), FS, geometry, {Role.PRODUCTION: 1, Role.CANARY: 1}, {1: INFO}
            )
        )
        pipeline.push(frame(data, 0), None)
        assert (pipeline.reach, pipeline.lead, pipeline.delay) == (reach, lead, 1)
    assert CleanerPipeline(FS, Budget(filter_lead=0.25), BANDS).lead == N // 4


def test_a_delay_change_assembles_every_second_once_in_order(data) -> None:
    """A re-export in the other stream mode changes the lag; with a 0.8 s lead the delay goes 2 <->
    1 s."""
    contiguous = StreamGeometry.from_seconds(
        kernel_length=1.0,
        stride_length=1 / 8,
        sample_rate=FS,
        batch_size=2,
        max_latency=None,
        mode="contiguous",
    )

    def zeros(witnesses: np.ndarray, first: int) -> Answer:
        return Answer({role: np.zeros(N) for role in Role}, G0 * N)

    for before, after in ((GEOMETRY, contiguous), (contiguous, GEOMETRY)):
        pipeline = CleanerPipeline(FS, Budget(filter_lead=0.8), BANDS)
        written, delays = [], []
        for i in range(SECONDS):
            if i in (0, 10):
                pipeline.configure(
                    ServedStream(
                        (STRAIN, *WITNESSES),
                        FS,
                        before if i == 0 else after,
                        {Role.PRODUCTION: 1, Role.CANARY: 2},
                        {1: INFO, 2: INFO},
                    )
                )
            written += [second.gps for second in pipeline.push(frame(data, i), zeros)]
            delays.append(pipeline.delay)
        assert sorted(set(delays)) == [1, 2]
        assert written == list(range(G0, G0 + SECONDS - delays[-1])), (before.mode, written)


def test_state_bits_need_the_whole_slice_and_tracks_window() -> None:
    mask = np.ones(64, dtype=bool)
    mask[5] = False
    bits = state_bits(
        {StateBit.INPUT_READY: mask, StateBit.TAPERED: True, StateBit.CANARY_DIFFERS: False}, 64
    )
    assert (
        bits.dtype == np.int32 and bits[1] == StateBit.TAPERED
    )  # sample 5 is in the second slice of 4
    assert np.all(np.delete(bits, 1) == StateBit.TAPERED | StateBit.INPUT_READY)
    ok = np.array([1, 1, 0, 1, 1, 1, 1], dtype=bool)
    direct = [ok[i : i + 3].all() for i in range(len(ok) - 2)]
    np.testing.assert_array_equal(window_all(ok, 1, 1), direct)
    track = SampleTrack(4)
    track.write(6, np.arange(5.0), np.array([1, 1, 0, 1, 1], dtype=bool))
    values, valid = track.read(4, 12)
    np.testing.assert_array_equal(values, [0, 0, 0, 1, 2, 3, 4, 0])
    np.testing.assert_array_equal(valid, [0, 0, 1, 1, 0, 1, 1, 0])
