"""Frame I/O and preprocessing costs on this machine (not a test: prints figures).

A realistic 1-s pair: the strain frame (GDS-CALIB_STRAIN at 16384 Hz float64 + the 16 Hz
state vector) and the witness frame (21 channels at native rates: the mains monitor at
1024 Hz, 16 ASC channels at 512 Hz, 4 soft-loop ASC channels at 256 Hz). Random data from a
fixed seed; every figure is the median over ``--repeats`` timings of ``--frames`` frames.

Prints, in ms per 1-s frame: writing (uncompressed, as written here; and LALFrame's usual
compression), reading with validation and checksum, the whole-file check the crawler does,
and the same through gwpy for reference; then the streaming resampler's cost per second for
all 22 channels, and the time to load a span of ``--span-seconds`` with ``read_span``.

    .venv/bin/python benchmarks/bench_frames.py [--frames 50] [--repeats 5] [--span-seconds 1024]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from deepclean.utils.frames.gwf import Channel, check_frame, read_frame, write_frame
from deepclean.utils.frames.naming import FrameKind, frame_path
from deepclean.utils.frames.span import read_span
from deepclean.utils.frames.stream import StreamingResampler

SEED = 0
GPS = 1_400_000_000
IFO = "H1"
WITNESSES = {"H1:PEM-CS_MAINSMON_EBAY_1_DQ": 1024}
WITNESSES |= {f"H1:ASC-W{i:02d}_P_OUT_DQ": 512 for i in range(16)}
WITNESSES |= {f"H1:ASC-SOFT{i}_P_OUT_DQ": 256 for i in range(4)}
STRAIN, STATE = "H1:GDS-CALIB_STRAIN", "H1:GDS-CALIB_STATE_VECTOR"


def frames(gps: int, rng: np.random.Generator) -> tuple[list[Channel], list[Channel]]:
    strain = [
        Channel(STRAIN, 1e-21 * rng.standard_normal(16384), 16384.0, float(gps)),
        Channel(STATE, np.full(16, 3, dtype=np.uint32), 16.0, float(gps)),
    ]
    witness = [
        Channel(n, rng.standard_normal(r), float(r), float(gps)) for n, r in WITNESSES.items()
    ]
    return strain, witness


def median_ms(action: Callable[[int], None], count: int, repeats: int) -> float:
    """Median over ``repeats`` runs of the mean time per call of ``action(i)``, i < count, in ms."""
    runs = []
    for _ in range(repeats):
        begun = time.perf_counter()
        for i in range(count):
            action(i)
        runs.append((time.perf_counter() - begun) / count)
    return 1e3 * statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=50, help="frames per timing run (default 50)")
    parser.add_argument(
        "--repeats", type=int, default=5, help="timing runs; the median is printed (default 5)"
    )
    parser.add_argument(
        "--span-seconds", type=int, default=1024, help="span loaded by read_span (default 1024)"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    pairs = [frames(GPS + i, rng) for i in range(args.frames)]
    names = list(WITNESSES)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        s_path = [frame_path(root, FrameKind.STRAIN, IFO, GPS + i) for i in range(args.frames)]
        w_path = [frame_path(root, FrameKind.WITNESS, IFO, GPS + i) for i in range(args.frames)]
        z_path = [root / "z" / p.name for p in w_path]
        rows = {
            "write strain frame": median_ms(
                lambda i: write_frame(s_path[i], pairs[i][0]), args.frames, args.repeats
            ),
            "write witness frame": median_ms(
                lambda i: write_frame(w_path[i], pairs[i][1]), args.frames, args.repeats
            ),
            "write witness frame, compressed": median_ms(
                lambda i: write_frame(z_path[i], pairs[i][1], compress=True),
                args.frames,
                args.repeats,
            ),
            "read strain frame (validated)": median_ms(
                lambda i: read_frame(
                    s_path[i], [STRAIN, STATE], expected_t0=GPS + i, expected_duration=1.0
                ),
                args.frames,
                args.repeats,
            ),
            "read witness frame (validated)": median_ms(
                lambda i: read_frame(w_path[i], names, expected_t0=GPS + i, expected_duration=1.0),
                args.frames,
                args.repeats,
            ),
            "read witness frame, compressed": median_ms(
                lambda i: read_frame(z_path[i], names), args.frames, args.repeats
            ),
            "check strain frame (crawler)": median_ms(
                lambda i: check_frame(s_path[i]), args.frames, args.repeats
            ),
        }
        from gwpy.timeseries import TimeSeries, TimeSeriesDict

        def gwpy_write(i: int) -> None:
            tsd = TimeSeriesDict(
                {
                    c.name: TimeSeries(c.data, t0=c.t0, sample_rate=c.sample_rate, name=c.name)
                    for c in pairs[i][1]
                }
            )
            tsd.write(str(root / "gwpy.gwf"), format="gwf", backend="lalframe")

        rows["gwpy: write witness frame"] = median_ms(gwpy_write, args.frames, args.repeats)
        rows["gwpy: read witness frame"] = median_ms(
            lambda i: TimeSeriesDict.read(str(w_path[i]), names, format="gwf", backend="lalframe"),
            args.frames,
            args.repeats,
        )

        print(
            f"1-s frames: strain 16384 Hz + state 16 Hz; witness frame of {len(WITNESSES)} "
            f"channels (seed {SEED})"
        )
        for label, ms in rows.items():
            print(f"  {label:34s} {ms:7.2f} ms")
        sizes = [p[0].stat().st_size / 1e3 for p in (s_path, w_path, z_path)]
        print(
            "  file sizes: strain {:.0f} kB, witness {:.0f} kB, witness compressed {:.0f} "
            "kB".format(*sizes)
        )

        rates = [16384.0, *WITNESSES.values()]
        resampler = StreamingResampler(rates)
        seconds = [[p[0][0].data, *(c.data for c in p[1])] for p in pairs]
        counter = iter(range(10**9))
        per_second = median_ms(
            lambda i: resampler.push(GPS + next(counter), seconds[i]), args.frames, args.repeats
        )
        print(
            f"streaming resampler, {len(rates)} channels to 4096 Hz (3 s buffer): "
            f"{per_second:.2f} ms per second"
        )

        span = args.span_seconds
        begun = time.perf_counter()
        for i in range(span + 2):  # one padding second each side
            strain, witness = frames(GPS - 1 + i, rng)
            write_frame(frame_path(root / "span", FrameKind.STRAIN, IFO, GPS - 1 + i), strain)
            write_frame(frame_path(root / "span", FrameKind.WITNESS, IFO, GPS - 1 + i), witness)
        written = time.perf_counter() - begun
        begun = time.perf_counter()
        loaded = read_span(root / "span", IFO, [STRAIN, *WITNESSES], GPS, span)
        took = time.perf_counter() - begun
        print(
            f"read_span of {span} s ({loaded.data.shape[0]} channels, "
            f"{loaded.data.nbytes / 1e9:.2f} GB at 4096 Hz): "
            f"{took:.1f} s ({1e3 * took / span:.1f} ms per second of data; writing them "
            f"took {written:.1f} s)"
        )


if __name__ == "__main__":
    main()
