"""Simulator throughput: seconds of data written per wall-clock second (backfill mode).

Runs ``deepclean simulate --backfill`` with default settings (H1, 21 witnesses, ground truth
on, seed 0) into a temporary directory and prints the throughput and the split between
generating the data and writing the frames, then times the two parts on their own.

    .venv/bin/python benchmarks/bench_simulate.py [--duration SECONDS]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from deepclean.services.simulate.faults import FaultPlan
from deepclean.services.simulate.loop import run_simulation
from deepclean.services.simulate.settings import SimulateSettings
from deepclean.services.simulate.writer import FrameSink
from deepclean.utils.config import load_settings
from deepclean.utils.simulation.detector import DetectorConfig, SimulatedDetector

START = 1_400_000_000
SEED = 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration", type=int, default=120, help="seconds of data to simulate (default 120)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            SimulateSettings,
            {
                "data_dir": Path(tmp),
                "start": START,
                "duration": args.duration,
                "backfill": True,
                "seed": SEED,
            },
            environ={},
            pyproject=None,
            env_file=None,
        )
        t0 = time.perf_counter()
        summary = run_simulation(settings)
        total = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*.gwf")) / summary.frames
    print(f"backfill, default settings, {summary.frames} s of data (seed {SEED}):")
    print(
        f"  throughput            {summary.throughput:7.1f} s of data per wall second (loop only)"
    )
    print(
        f"  including set-up      {summary.frames / total:7.1f} s/s "
        f"({total - summary.wall_s:.2f} s set-up)"
    )
    print(
        f"  generation            {1e3 * summary.generate_s / summary.frames:7.1f} ms per "
        "second of data"
    )
    print(
        f"  frame writing         {1e3 * summary.write_s / summary.frames:7.1f} ms per "
        "second of data (strain + witness frame)"
    )
    print(f"  disk                  {size / 1e6:7.2f} MB per second of data")

    # the two parts alone, per frame
    det = SimulatedDetector(DetectorConfig(seed=SEED), START)
    gen = []
    for _ in range(30):
        t = time.perf_counter()
        second = det.next()
        gen.append(time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as tmp:
        sink = FrameSink(Path(tmp), "H1", FaultPlan(seed=SEED))
        strain, witness = sink.channels(second).values()
        from deepclean.utils.frames.gwf import write_frame

        times = {"strain frame (3 channels)": [], f"witness frame ({len(witness)} channels)": []}
        for i in range(30):
            for label, channels in zip(times, (strain, witness)):
                t = time.perf_counter()
                write_frame(Path(tmp) / f"{label[:7]}-{i}.gwf", channels)
                times[label].append(time.perf_counter() - t)
    print("per frame, median of 30:")
    print(f"  generate one second   {1e3 * np.median(gen):7.1f} ms")
    for label, values in times.items():
        print(f"  write {label:<26s}{1e3 * np.median(values):7.1f} ms")


if __name__ == "__main__":
    main()
