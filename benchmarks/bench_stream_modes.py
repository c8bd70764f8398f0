"""The two stream modes through the real Triton at the production geometry: x real time and latency.

For each stream mode (``windowed``, the original; ``contiguous``, one DeepClean pass per phase
over a contiguous stretch) the benchmark exports two DeepClean versions (production and canary,
python platform: onnxruntime inside Triton) with the exporter's own code path
(:func:`deepclean.services.exporter.export.export_model`), builds ``deepclean-stream`` at the
production geometry (4096 Hz, 21 witnesses, 1 s kernel, 512 windows/s = stride 8 samples,
128 windows per update = 0.25 s of data), starts the real Triton server and streams one
sequence with one update in flight, as the cleaner does. It prints per mode:

* the output lag (samples and ms) and what DeepClean runs per update (batch x samples);
* latency per update (median, 95th percentile), measured by the client from send to answer;
* x real time: seconds of data cleaned per second of wall time when streamed back to back
  (> 1 keeps up with the detector; every update runs DeepClean for production and canary);
* model ms: the same two DeepClean calls run by onnxruntime in this process.

Run it on a quiet machine (nothing else using the cores): ``.venv/bin/python
benchmarks/bench_stream_modes.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from deepclean.services.exporter.export import ExportTarget, TrainedModel, export_model, stream_spec
from deepclean.services.exporter.settings import ExportPlatform
from deepclean.utils.channels import parse_channels
from deepclean.utils.export.onnx_export import onnx_runner
from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.products import VersionInfo
from deepclean.utils.streaming import StreamMode
from deepclean.utils.triton.client import StreamClient
from deepclean.utils.triton.server import start_on_free_ports


def build(root: Path, mode: StreamMode, args: argparse.Namespace):
    """Export DeepClean versions 1 (production) and 2 (canary) and the ensemble; return (spec,
    seconds)."""
    names = ["H1:GDS-CALIB_STRAIN", *(f"H1:PEM-WITNESS_{i:02d}_DQ" for i in range(args.witnesses))]
    channels = parse_channels(names, "H1")
    target = ExportTarget(
        root,
        ExportPlatform.PYTHON,
        float(args.sample_rate),
        args.kernel_length,
        args.stride / args.sample_rate,
        args.batch,
        (args.max_latency,),
        stream_mode=mode,
    )
    spec = stream_spec(target, channels, {})
    started = time.perf_counter()
    for version in (1, 2):
        torch.manual_seed(version)
        module = DeepCleanModel(args.witnesses).eval()
        trained = TrainedModel(module, root / "weights.pt", None, VersionInfo(trained=True))
        export_model(target, channels, trained, spec)
    return spec, time.perf_counter() - started


def bench_mode(base: Path, mode: StreamMode, args: argparse.Namespace) -> dict:
    root = base / mode.value
    spec, export_s = build(root, mode, args)
    g = spec.geometry()
    rng = np.random.default_rng(0)
    data = rng.standard_normal((args.witnesses, g.update_size * 8)).astype(np.float32)
    updates = [data[:, i : i + g.update_size] for i in range(0, data.shape[1], g.update_size)]
    server = start_on_free_ports(root, log_path=base / f"triton-{mode.value}.log")
    with server, StreamClient(server.grpc_url, timeout=300) as client:
        for k in range(3):  # warm-up
            client.infer(1, updates[k], start=k == 0)
        latencies = []
        t0 = time.perf_counter()
        while len(latencies) < args.updates and time.perf_counter() - t0 < args.max_seconds:
            latencies.append(client.infer(1, updates[len(latencies) % len(updates)]).latency)
        wall = time.perf_counter() - t0
        client.infer(1, updates[0], end=True)
    run = onnx_runner(root / "deepclean" / "1" / "model.onnx", ["noise"])
    inputs = {
        "witness": rng.standard_normal((g.model_batch, args.witnesses, g.input_size)).astype(
            np.float32
        )
    }
    run(inputs)
    model_ms = []
    for _ in range(5):
        t = time.perf_counter()
        run(inputs), run(inputs)  # production and canary
        model_ms.append((time.perf_counter() - t) * 1e3)
    lat = np.array(latencies) * 1e3
    update_s = g.update_size / args.sample_rate
    return {
        "mode": mode.value,
        "lag": g.lag_samples,
        "lag_ms": g.lag_samples / args.sample_rate * 1e3,
        "batch": g.model_batch,
        "samples": g.input_size,
        "updates": len(lat),
        "export_s": export_s,
        "median_ms": float(np.median(lat)),
        "p95_ms": float(np.percentile(lat, 95)),
        "realtime": len(lat) * update_s / wall,
        "model_ms": float(np.median(model_ms)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--modes",
        nargs="+",
        default=[m.value for m in StreamMode],
        choices=[m.value for m in StreamMode],
    )
    parser.add_argument("--witnesses", type=int, default=21, help="witness channels W")
    parser.add_argument("--sample-rate", type=int, default=4096, help="Hz")
    parser.add_argument(
        "--kernel-length", type=float, default=1.0, help="s (windowed mode's window)"
    )
    parser.add_argument(
        "--stride", type=int, default=8, help="samples between windows (8: 512 windows/s)"
    )
    parser.add_argument("--batch", type=int, default=128, help="windows per update")
    parser.add_argument("--max-latency", type=float, default=0.5, help="s averaged (windowed mode)")
    parser.add_argument("--updates", type=int, default=200, help="timed updates per mode (at most)")
    parser.add_argument(
        "--max-seconds", type=float, default=40.0, help="wall-time cap of the timed part per mode"
    )
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"geometry: {args.sample_rate} Hz, W={args.witnesses}, kernel {args.kernel_length} "
        f"s, stride {args.stride} "
        f"samples ({args.sample_rate / args.stride:g} windows/s), {args.batch} windows per "
        "update; production + canary"
    )
    base = Path(tempfile.mkdtemp(prefix="bench-stream-modes-"))
    try:
        print(
            f"{'mode':>10} {'lag':>5} {'lag ms':>7} {'DeepClean input':>17} "
            f"{'export s':>8} {'updates':>7} "
            f"{'median ms':>9} {'p95 ms':>7} {'x realtime':>10} {'model ms':>8}"
        )
        for mode in args.modes:
            r = bench_mode(base, StreamMode(mode), args)
            shape = f"{r['batch']} x {r['samples']}"
            print(
                f"{r['mode']:>10} {r['lag']:>5} {r['lag_ms']:>7.1f} {shape:>17} "
                f"{r['export_s']:>8.1f} "
                f"{r['updates']:>7} {r['median_ms']:>9.1f} {r['p95_ms']:>7.1f} "
                f"{r['realtime']:>10.2f} "
                f"{r['model_ms']:>8.1f}",
                flush=True,
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
