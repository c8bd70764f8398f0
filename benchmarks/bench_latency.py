"""End-to-end latency of the live cleaner with frames paced in real time, and its quality against
offline cleaning of the same span.

A simulated detector's frames (21 witnesses, with the background truth channel) are written
ahead of time into a staging directory, then paced into a watched ``DATA_DIR`` one second per
wall-clock second, as a frame writer does: each file is copied under a temporary name in the
target folder and renamed into place (strain, then witnesses). ``deepclean cleaner`` follows
``DATA_DIR`` through a real Triton serving the CPU geometry of ``./run.sh up`` (the exporter's
``cpu`` profile: 1 s kernel, 32 windows/s, batch 8, contiguous stream, python platform) with
the settings of the repository's ``pyproject.toml`` (flags only for directories and ports).

Latency of a second = its cleaned frame renamed into place (mtime) - its strain frame renamed
into place (mtime). After ``--warmup`` seconds (first second tapered in, stream warm-up, the
OUT_DQ gate's first decision) it prints: median, p90, p99, max; raw fallbacks (seconds whose
PRODUCTION is not a valid subtraction, e.g. Triton past ``grace``); lost seconds (paced, no
cleaned frame) and duplicated ones (written twice, from the cleaner's log); the mean of each
stage histogram on the cleaner's ``/metrics``; and, against ``deepclean clean-offline`` on the
same span, the removed-noise difference (in band, mean of ASD(live - offline) / ASD(raw -
offline), PRODUCTION channels) and clean/background for both (in band, mean ASD ratio against
the simulator's ``SIM-BACKGROUND``, resampled as the strain is).

``--curve`` adds the ``filter_lead`` latency/quality curve: the same span cleaned (not paced)
with each lead, its quality against offline, and the look-ahead it costs in whole frames
(``ceil((resampler reach + stream lag + lead) / 1 s)``), whose latency is that many frames plus
the compute measured in the paced run.

Run (about 8-10 min on 2 cores: training ~3 min, 240 s paced, offline cleaning, ``--curve``
~2 min more): ``.venv/bin/python benchmarks/bench_latency.py [--weights RUN_DIR] [--duration
240] [--curve] [--filter-lead S]``. ``--weights`` skips the training (the directory a previous
run printed).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repository root: the tests' helpers and bench_cleaner

from benchmarks.bench_cleaner import export, stage_means, train  # noqa: E402
from deepclean.utils.frames.gwf import read_frame  # noqa: E402
from deepclean.utils.frames.naming import FrameKind, frame_path  # noqa: E402
from deepclean.utils.frames.resample import resample  # noqa: E402
from deepclean.utils.products import StateBit  # noqa: E402
from deepclean.utils.triton.server import free_port, start_on_free_ports  # noqa: E402
from tests.services.cleaner.cleaner_helpers import (  # noqa: E402
    IFO,
    LIVE_GPS,
    asd,
    in_band,
    read_cleaned,
    run_cli,
    start_process,
    stop_process,
)

KINDS = (FrameKind.STRAIN, FrameKind.WITNESS)
LOG_LINE = re.compile(r"GPS (\d+): \S+ latency")


def pace(staging: Path, data: Path, first: int, count: int, stop: threading.Event) -> dict:
    """Copy + rename each second's frames into ``data`` at one second per second; returns
    ``{gps: time the strain frame was renamed into place}``."""
    placed: dict[int, float] = {}
    t0 = time.time() + 0.5
    for i in range(count):
        gps = first + i
        delay = t0 + i - time.time()
        if delay > 0 and stop.wait(delay):
            break
        for kind in KINDS:
            source = frame_path(staging, kind, IFO, gps)
            target = frame_path(data, kind, IFO, gps)
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.tmp")
            shutil.copyfile(source, temporary)
            os.replace(temporary, target)
            if kind is FrameKind.STRAIN:
                placed[gps] = time.time()
    return placed


def cleaned_path(project: Path, gps: int) -> Path:
    return project / "cleaned" / IFO / f"H-{IFO}_llhoft_deepclean-{gps}-1.gwf"


def series(folder: Path, channel: str, gps: range) -> np.ndarray:
    name = f"{IFO}:{channel}"
    return np.concatenate(
        [read_frame(cleaned_path(folder, g), [name], expected_t0=g)[name].data for g in gps]
    )


def offline_series(folder: Path, channel: str, gps: range) -> np.ndarray:
    name = f"{IFO}:{channel}"
    return np.concatenate(
        [
            read_frame(folder / f"H-{IFO}_llhoft_deepclean-{g}-1.gwf", [name], expected_t0=g)[
                name
            ].data
            for g in gps
        ]
    )


def background(staging: Path, gps: range) -> np.ndarray:
    """The simulator's truth, resampled to 4096 Hz as the strain is (whole span, edges trimmed)."""
    name = f"{IFO}:SIM-BACKGROUND"
    pad = range(gps.start - 1, gps.stop + 1)
    raw = np.concatenate(
        [read_frame(frame_path(staging, FrameKind.STRAIN, IFO, g), [name])[name].data for g in pad]
    )
    return resample(raw, 16384, 4096)[4096:-4096]


def band_mean(numerator: np.ndarray, denominator: np.ndarray) -> float:
    f, a = asd(numerator)
    _, b = asd(denominator)
    band = in_band(f)
    return float(np.mean(a[band] / b[band]))


def quality(live: Path, offline: Path, staging: Path, gps: range) -> dict[str, float]:
    """Removed-noise difference and clean/background of live PRODUCTION and offline."""
    raw = series(live, "DEEPCLEAN-RAW_STRAIN", gps)
    production = series(live, "GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION", gps)
    reference = offline_series(offline, "GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION", gps)
    truth = background(staging, gps)
    return {
        "removed_difference": band_mean(production - reference, raw - reference),
        "live_background": band_mean(production, truth),
        "offline_background": band_mean(reference, truth),
        "live_raw": band_mean(production, raw),
    }


def clean_offline(staging: Path, weights: Path, gps: range, out: Path) -> None:
    argv = ["clean-offline", "--profile", "cpu", "--data-dir", str(staging), "--ifo", IFO]
    argv += ["--weights", str(weights), "--start", str(gps.start)]
    argv += ["--duration", str(len(gps)), "--output-dir", str(out)]
    assert run_cli(argv) == 0, "clean-offline failed"


def cleaner_argv(data: Path, project: Path, url: str, port: int, *extra: str) -> list[str]:
    return [
        "cleaner",
        "--data-dir",
        str(data),
        "--project-dir",
        str(project),
        "--ifo",
        IFO,
        "--triton-url",
        url,
        "--metrics-port",
        str(port),
        *extra,
    ]


def wait_until_serving(port: int, process, timeout: float = 300.0) -> None:
    """Until the cleaner answers /health (it has imported, connected and waits for frames): on a
    loaded machine its start-up alone can take tens of seconds, which must not count."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the cleaner exited with status {process.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).read()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the cleaner did not serve /health within {timeout:.0f} s")


def written_counts(log: Path) -> dict[int, int]:
    counts: dict[int, int] = {}
    for match in LOG_LINE.finditer(log.read_text(errors="replace")):
        counts[int(match.group(1))] = counts.get(int(match.group(1)), 0) + 1
    return counts


def look_ahead_frames(lead: float, reach: float, lag: float) -> int:
    return max(0, math.ceil(round(reach + lag + lead, 9)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--weights", type=Path, help="a training run (default: train, ~3 min)")
    parser.add_argument("--duration", type=int, default=240, help="paced seconds (default 240)")
    parser.add_argument("--warmup", type=int, default=15, help="seconds left out at the start")
    parser.add_argument("--filter-lead", type=float, help="the cleaner's --filter-lead, seconds")
    parser.add_argument("--curve", action="store_true", help="also the filter_lead curve")
    parser.add_argument(
        "--compare",
        type=int,
        default=96,
        help="seconds compared with clean-offline, from the first measured one (default 96)",
    )
    parser.add_argument("--keep", type=Path, help="work directory (default: a new temporary one)")
    args = parser.parse_args()
    began = time.monotonic()
    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-latency-"))
    root.mkdir(parents=True, exist_ok=True)
    weights = args.weights or train(root)
    repo, staging = root / "model_repo", root / "staging"
    for folder in (repo, staging, root / "data", root / "project", root / "offline"):
        shutil.rmtree(folder, ignore_errors=True)
    export(weights, repo, "contiguous")
    first, count = LIVE_GPS, args.duration + args.warmup + 3
    simulate = ["simulate", "--data-dir", str(staging), "--ifo", IFO, "--seed", "7"]
    simulate += ["--start", str(first - 1), "--duration", str(count + 3), "--backfill"]
    assert run_cli(simulate) == 0, "simulate failed"
    measured = range(first + args.warmup, first + args.warmup + args.duration)
    compared = range(measured.start, measured.start + min(args.compare, args.duration))
    triton = start_on_free_ports(repo, log_path=root / "triton.log")
    data, project, port = root / "data", root / "project", free_port()
    lead = [] if args.filter_lead is None else ["--filter-lead", str(args.filter_lead)]
    log = root / "cleaner.log"
    stop = threading.Event()
    try:
        cleaner = start_process(
            cleaner_argv(data, project, triton.grpc_url, port, "--start", str(first), *lead), log
        )
        wait_until_serving(port, cleaner)  # the cleaner is up and waiting for its first frame
        time.sleep(2)
        placed = pace(staging, data, first, count, stop)
        deadline = time.monotonic() + 30
        while not cleaned_path(project, measured[-1]).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        metrics = (
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        )
        stop_process(cleaner)
        clean_offline(staging, weights, compared, root / "offline")
        curve = []
        if args.curve:
            for value in (0.25, 0.5, 0.75, None, 1.0):
                out = root / f"curve-{value}"
                shutil.rmtree(out, ignore_errors=True)
                extra = ["--start", str(first), "--duration", str(compared.stop - first)]
                extra += [] if value is None else ["--filter-lead", str(value)]
                proc = start_process(
                    cleaner_argv(staging, out, triton.grpc_url, 0, *extra), root / "curve.log"
                )
                proc.wait(900)
                curve.append((value, quality(out, root / "offline", staging, compared)))
    finally:
        stop.set()
        triton.stop()
    latencies, raw_fallbacks, lost = [], [], []
    for g in measured:
        path = cleaned_path(project, g)
        if not path.exists():
            lost.append(g)
            continue
        strain = frame_path(data, FrameKind.STRAIN, IFO, g)
        latencies.append(path.stat().st_mtime - strain.stat().st_mtime)
        bits = read_cleaned(path)["DEEPCLEAN-STATE_VECTOR"]
        if not np.all(bits & StateBit.PRODUCTION_VALID):
            raw_fallbacks.append(g)
    counts = written_counts(log)
    duplicated = sorted(g for g, n in counts.items() if n > 1)
    lat = np.array(latencies)
    q = quality(project, root / "offline", staging, compared)
    stages = stage_means(metrics)
    print(
        f"bench_latency: {len(measured)} s paced at 1x after {args.warmup} s of warm-up, cpu "
        f"geometry of ./run.sh up (32 windows/s, batch 8, contiguous, python platform), "
        f"filter_lead {args.filter_lead if args.filter_lead is not None else 'default'}, "
        f"load average at the end {os.getloadavg()[0]:.1f}"
    )
    print(
        f"latency (cleaned frame renamed - strain frame renamed): median {np.median(lat):.3f} s, "
        f"p90 {np.percentile(lat, 90):.3f} s, p99 {np.percentile(lat, 99):.3f} s, "
        f"max {lat.max():.3f} s"
    )
    print(
        f"raw fallbacks after warm-up: {len(raw_fallbacks)} {raw_fallbacks[:10]}; lost seconds: "
        f"{len(lost)} {lost[:10]}; duplicated seconds: {len(duplicated)} {duplicated[:10]}; "
        f"strain frames paced: {len(placed)}"
    )
    print("cleaner stages (mean seconds): " + ", ".join(f"{k} {v:.4f}" for k, v in stages.items()))
    print(
        f"quality against clean-offline of the same {len(compared)} s (in band 58-62 Hz): "
        f"removed-noise "
        f"difference {q['removed_difference']:.3%}; clean/background live "
        f"{q['live_background']:.4f}, offline {q['offline_background']:.4f} "
        f"({q['live_background'] / q['offline_background'] - 1:+.2%}); clean/raw live "
        f"{q['live_raw']:.4f}"
    )
    if curve:
        reach, lag = stages.get("reach", 0.0), stages.get("lag", 0.0)
        compute = np.median(lat) - 1.0
        print("filter_lead curve (quality against clean-offline; latency = frames + compute):")
        for value, cq in curve:
            frames = look_ahead_frames(value if value is not None else 1 - reach - lag, reach, lag)
            print(
                f"  filter_lead {'default' if value is None else f'{value:.2f} s'}: look-ahead "
                f"{frames} frame(s), latency ~{frames + compute:.2f} s; removed-noise difference "
                f"{cq['removed_difference']:.3%}; clean/background {cq['live_background']:.4f} "
                f"(offline {cq['offline_background']:.4f})"
            )
    print(f"work directory: {root}; weights {weights}; run time {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    main()
