"""The live cleaner end to end at 1x real time: simulator -> Triton -> ``deepclean cleaner`` ->
cleaned frames.

Setup (skipped with ``--weights``): 168 s of default simulated data (21 witnesses) and a short
cpu-profile training run. Then a python-platform repository with the cpu profile's geometry
(1 s kernel, 32 windows/s, batch 8, max latency 0.5 s) in ``--stream-mode`` (default contiguous), a
real Triton, ``deepclean simulate --start now`` (1x) and ``deepclean cleaner`` as child processes,
for ``--duration`` seconds (default 300). Printed:

* latency per frame = cleaned frame renamed into place (its mtime) - strain frame renamed into
  place (its mtime): median, 99th percentile, max; next to the original system's ~4.2 s;
* the per-stage budget: the look-ahead (witness resampler reach, stream lag, filter lead) and
  the measured mean of each stage from the cleaner's ``/metrics`` (input, resample, triton,
  filter, write) and Triton's time per second of data;
* CPU use of the cleaner, Triton (with its python stubs) and the simulator, in cores;
* the fraction of written seconds whose OUT_DQ is fully cleaned, and any missing seconds.

Run: ``.venv/bin/python benchmarks/bench_cleaner.py [--weights RUN_DIR] [--duration 300]
[--stream-mode MODE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # the repository root: the tests' helpers

from deepclean.utils.channels import parse_channels  # noqa: E402
from deepclean.utils.export import ModelRepository  # noqa: E402
from deepclean.utils.frames.gwf import read_frame  # noqa: E402
from deepclean.utils.frames.naming import FrameKind, frame_path  # noqa: E402
from deepclean.utils.products import Flag, StateBit  # noqa: E402
from deepclean.utils.triton.names import ENSEMBLE  # noqa: E402
from deepclean.utils.triton.server import free_port, start_on_free_ports  # noqa: E402
from tests.services.cleaner.cleaner_helpers import IFO, TRAIN_GPS, run_cli, start_process  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return total


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def train(root: Path) -> Path:
    data, model = root / "train-data", root / "model"
    assert (
        run_cli(
            [
                "simulate",
                "--data-dir",
                str(data),
                "--ifo",
                IFO,
                "--start",
                str(TRAIN_GPS),
                "--duration",
                "168",
                "--backfill",
                "--seed",
                "3",
            ]
        )
        == 0
    )
    assert (
        run_cli(
            [
                "train",
                "--profile",
                "cpu",
                "--data-dir",
                str(data),
                "--ifo",
                IFO,
                "--channels",
                str(data / "channels.txt"),
                "--start",
                str(TRAIN_GPS),
                "--duration",
                "128",
                "--output-dir",
                str(model),
                "--kernel-length",
                "4",
                "--batch-size",
                "8",
                "--max-epochs",
                "8",
                "--max-steps",
                "16",
                "--early-stop",
                "8",
            ]
        )
        == 0
    )
    return model


def export(weights: Path, repo: Path, mode: str) -> None:
    channels = json.loads((weights / "metadata.json").read_text())["channels"]
    channel_file = repo.parent / "channels.txt"
    channel_file.write_text("\n".join(channels) + "\n")
    assert (
        run_cli(
            [
                "export-model",
                "--repository-directory",
                str(repo),
                "--channels",
                str(channel_file),
                "--weights",
                str(weights),
                "--kernel-length",
                "1",
                "--stride-length",
                str(1 / 32),
                "--batch-size",
                "8",
                "--max-latency",
                "0.5",
                "--stream-mode",
                mode,
                "--platform",
                "python",
                "autoencoder",
            ]
        )
        == 0
    )


def stage_means(metrics: str) -> dict[str, float]:
    """Mean seconds of each stage of the cleaner's ``deepclean_cleaner_stage_seconds``, Triton's
    time per second of data, and the look-ahead gauges (``reach``, ``lag``, ``lead``)."""
    out = {}
    sums = dict(re.findall(r'deepclean_cleaner_stage_seconds_sum{stage="(\w+)"} (\S+)', metrics))
    counts = re.findall(r'deepclean_cleaner_stage_seconds_count{stage="(\w+)"} (\S+)', metrics)
    for name, count in counts:
        if float(count):
            out[name] = float(sums[name]) / float(count)
    s = re.search(r"deepclean_cleaner_inference_seconds_sum ([0-9.e+-]+)", metrics)
    c = re.search(r"deepclean_cleaner_inference_seconds_count ([0-9.e+-]+)", metrics)
    if s and c and float(c.group(1)):
        out["triton per second of data"] = float(s.group(1)) / float(c.group(1))
    for part, value in re.findall(
        r'deepclean_cleaner_lookahead_seconds{part="(\w+)"} (\S+)', metrics
    ):
        out[part] = float(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--weights", type=Path, help="a training run directory (default: train one, ~2-5 min)"
    )
    parser.add_argument(
        "--duration", type=int, default=300, help="seconds of live data measured (default 300)"
    )
    parser.add_argument("--keep", type=Path, help="keep the work directory here")
    parser.add_argument(
        "--stream-mode",
        choices=["windowed", "contiguous"],
        default="contiguous",
        help="the exported stream mode (default contiguous)",
    )
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-cleaner-"))
    root.mkdir(parents=True, exist_ok=True)
    weights = args.weights or train(root)
    repo = root / "model_repo"
    shutil.rmtree(repo, ignore_errors=True)
    export(weights, repo, args.stream_mode)
    triton = start_on_free_ports(repo, log_path=root / "triton.log")
    data, project, port = root / "data", root / "project", free_port()
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(project, ignore_errors=True)
    warm = 15  # s of stream before measuring (resampler, warm-up, OUT_DQ gate)
    total = args.duration + warm + 5
    sim = start_process(
        [
            "simulate",
            "--data-dir",
            str(data),
            "--ifo",
            IFO,
            "--start",
            "now",
            "--duration",
            str(total),
            "--seed",
            "7",
        ],
        root / "simulate.log",
    )
    time.sleep(3)  # the first frames exist: the cleaner starts at the newest one
    cleaner = start_process(
        [
            "cleaner",
            "--data-dir",
            str(data),
            "--project-dir",
            str(project),
            "--ifo",
            IFO,
            "--triton-url",
            triton.grpc_url,
            "--metrics-port",
            str(port),
        ],
        root / "cleaner.log",
    )
    triton_pids = group_pids(triton.process.pid)
    pids = {"cleaner": [cleaner.pid], "triton": triton_pids, "simulator": [sim.pid]}
    time.sleep(warm)
    cpu0, t0 = {k: cpu_seconds(v) for k, v in pids.items()}, time.monotonic()
    try:
        time.sleep(args.duration)  # measured while every process still runs
        cpu1, t1 = {k: cpu_seconds(v) for k, v in pids.items()}, time.monotonic()
        sim.wait(total + 60)
        time.sleep(4)
        metrics = (
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        )
    finally:
        for proc in (cleaner, sim):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)
        triton.stop()
    strain = sorted(int(p.name.split("-")[-2]) for p in (data / "kafka" / IFO).glob("*.gwf"))
    cleaned = {int(p.name.split("-")[-2]): p for p in (project / "cleaned" / IFO).glob("*.gwf")}
    first = min(cleaned)
    measured = [g for g in strain if first + warm <= g <= max(cleaned)]
    latencies, full = [], 0
    for g in measured:
        if g not in cleaned:
            continue
        latencies.append(
            cleaned[g].stat().st_mtime - frame_path(data, FrameKind.STRAIN, IFO, g).stat().st_mtime
        )
        bits = read_frame(cleaned[g], [Flag.STATE.channel(IFO)])[Flag.STATE.channel(IFO)].data
        full += bool(np.all(bits & StateBit.OUT_DQ_CLEANED))
    missing = [g for g in measured if g not in cleaned]
    lat = np.array(latencies)
    wall = t1 - t0
    params = ModelRepository(repo)[ENSEMBLE].parameters
    lag_s = float(params["max_latencies"][0])
    print(
        f"live cleaner at 1x, {args.stream_mode} stream mode, cpu-profile geometry (32 "
        "windows/s, batch 8, "
        f"python platform), "
        f"{len(parse_channels(root / 'channels.txt', IFO).witnesses)} witnesses, "
        f"{len(measured)} s measured"
    )
    print(
        f"latency (cleaned frame renamed - strain frame renamed): median {np.median(lat):.2f} s, "
        f"p99 {np.percentile(lat, 99):.2f} s, max {lat.max():.2f} s   (original DeepClean: ~4.2 s)"
    )
    print(
        f"look-ahead: witness resampler reach + stream lag {lag_s:.4f} s + filter lead, in whole "
        "frames (1 with the defaults) + drop look-ahead 0 s (frames present) + OUT_DQ 0 s, "
        "then compute"
    )
    for name, value in stage_means(metrics).items():
        print(f"  measured mean {name}: {value:.3f} s")
    print(
        "CPU use (cores, mean over the measured span): "
        + ", ".join(f"{k} {(cpu1[k] - cpu0[k]) / wall:.2f}" for k in pids)
    )
    print(
        f"seconds with OUT_DQ fully cleaned: {full}/{len(latencies)} = "
        f"{full / max(len(latencies), 1):.1%}; "
        f"missing seconds: {missing or 'none'}"
    )
    print(f"work directory: {root}")


if __name__ == "__main__":
    main()
