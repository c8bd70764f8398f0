"""The live cleaner's ``filter`` stage per second, without Triton (not a test: prints figures).

Drives :class:`~deepclean.services.cleaner.pipeline.CleanerPipeline` with synthetic 1 s frames
(strain at 16384 Hz, two witnesses) and an in-process stand-in for Triton that answers with a
fixed noise series (mains and its harmonics plus white noise), so only the cleaner's own work is
timed. The ``filter`` stage (:attr:`CleanerPipeline.timings`) is what assembling a second costs:
band-pass of both roles' noise (one Butterworth per band), readiness gate, subtraction and the
OUT_DQ gate. Printed, over the seconds after the gates' warm-up, for ``--bands`` cleaning bands
(the line and its harmonics, +/- 2 Hz, 1 Hz margin): the stage's wall time per second (median,
mean, 90th percentile, ms) and the CPU time of assembling each second (process time, median and
mean, ms), which a loaded machine disturbs less.

    .venv/bin/python benchmarks/bench_filter_stage.py [--bands 3] [--seconds 120]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from deepclean.services.cleaner.pipeline import Answer, Budget, CleanerPipeline
from deepclean.utils.frames.gwf import Channel
from deepclean.utils.frames.reader import FrameData
from deepclean.utils.products import VersionInfo
from deepclean.utils.streaming import StreamGeometry
from deepclean.utils.triton.names import Role
from deepclean.utils.triton.served import ServedStream

FS = 4096.0
N = 4096
G0 = 1_400_000_000
STRAIN, WITNESSES, RATES = "H1:GDS-CALIB_STRAIN", ("H1:ASC-A_OUT_DQ", "H1:PEM-B_DQ"), (512, 1024)
WARM_S = 12  #: seconds left out: stream warm-up and the OUT_DQ gate's first decisions
CPU_GEOMETRY = {"kernel_length": 1.0, "stride_length": 1 / 32, "batch_size": 8}  #: ./run.sh up
GEOMETRY = StreamGeometry.from_seconds(
    sample_rate=FS, max_latency=None, mode="contiguous", **CPU_GEOMETRY
)


class FixedNoise:
    """Answers every witness block with the same noise series at its samples (both roles)."""

    def __init__(self, seconds: int, bands: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        t = np.arange((seconds + 4) * N) / FS
        lines = sum(np.sin(2 * np.pi * 60.0 * k * t) for k in range(1, bands + 1))
        self.noise = 0.05 * lines + 1e-5 * rng.normal(size=t.size)
        self.start: int | None = None

    def __call__(self, witnesses: np.ndarray, first: int) -> Answer:
        self.start = first if self.start is None else self.start
        i = first - GEOMETRY.lag_samples - G0 * N + N
        noise = self.noise[i : i + N]
        return Answer({Role.PRODUCTION: noise, Role.CANARY: 0.5 * noise}, self.start)


def frames(seconds: int, bands: int):
    rng = np.random.default_rng(1)
    t = np.arange(16384) / 16384
    for i in range(seconds):
        gps = G0 + i
        tt = t + i
        strain = 1e-3 * rng.normal(size=16384) + 0.05 * sum(
            np.sin(2 * np.pi * 60.0 * k * tt) for k in range(1, bands + 1)
        )
        channels = {STRAIN: Channel(STRAIN, strain, 16384.0, float(gps))}
        for name, rate in zip(WITNESSES, RATES):
            channels[name] = Channel(name, rng.normal(size=rate), float(rate), float(gps))
        yield FrameData(gps=gps, channels=channels, state=np.full(16, 3, dtype=np.uint32))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bands", type=int, default=3, help="cleaning bands (line and harmonics)")
    p.add_argument("--seconds", type=int, default=120, help="seconds of data pushed")
    args = p.parse_args()
    bands = [[60.0 * k - 2, 60.0 * k + 2] for k in range(1, args.bands + 1)]
    filter_bands = [[lo - 1, hi + 1] for lo, hi in bands]
    info = VersionInfo(trained=True, bands=bands, filter_bands=filter_bands)
    pipeline = CleanerPipeline(FS, Budget(), tuple(map(tuple, bands)))
    pipeline.configure(
        ServedStream(
            (STRAIN, *WITNESSES),
            FS,
            GEOMETRY,
            {Role.PRODUCTION: 1, Role.CANARY: 2},
            {1: info, 2: info},
        )
    )
    infer = FixedNoise(args.seconds, args.bands)
    cpu = []
    assemble = pipeline._assemble

    def timed(o: int):
        began = time.process_time()
        second = assemble(o)
        cpu.append(time.process_time() - began)
        return second

    pipeline._assemble = timed
    timings, cleaned, began = [], 0, time.perf_counter()
    for k, item in enumerate(frames(args.seconds, args.bands)):
        out = pipeline.push(item, infer)
        if k >= WARM_S and out:
            timings.append(pipeline.timings["filter"])
            cleaned += sum(s.cleaned_fraction >= 1.0 for s in out)
    ms, cpu_ms = 1e3 * np.array(timings), 1e3 * np.array(cpu[-len(timings) :])
    print(
        f"{args.bands} band(s), {len(ms)} s measured ({time.perf_counter() - began:.1f} s wall): "
        f"filter stage median {np.median(ms):.2f} ms, mean {ms.mean():.2f} ms, "
        f"p90 {np.percentile(ms, 90):.2f} ms per second of data; CPU per second assembled "
        f"median {np.median(cpu_ms):.2f} ms, mean {cpu_ms.mean():.2f} ms; "
        f"OUT_DQ fully cleaned in {cleaned} of them"
    )


if __name__ == "__main__":
    main()
