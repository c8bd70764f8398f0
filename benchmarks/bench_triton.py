"""Per-update latency and throughput of ``deepclean-stream`` on this machine's Triton, for a few
inference rates.

For each inference rate (DeepClean windows per second of data, ``1 / stride_length``) the
benchmark builds a repository with the production geometry (4096 Hz, 1 s kernel, 21 witnesses,
0.25 s per update, so ``batch = rate / 4`` windows per update, 0.5 s averaging), starts the real
Triton server, streams one sequence with one update in flight (as the cleaner does) and prints:

* latency per update (median, 95th percentile, max), measured by the client from send to answer;
* throughput: updates per second when streamed back to back, and the real-time factor (seconds
  of data cleaned per second of wall time; > 1 keeps up with the detector);
* DeepClean export + verification time (python platform: ONNX run by onnxruntime in Triton);
* model ms: the same two DeepClean batches run by onnxruntime in this process, for comparison
  (latency minus this is the cost of Triton, the python backend and the streaming models).

Every update runs DeepClean twice (production and canary). Run: ``.venv/bin/python
benchmarks/bench_triton.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from deepclean.utils.export import STATUS_FILENAME, ModelRepository, Platform
from deepclean.utils.export.onnx_export import onnx_runner
from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.triton.client import StreamClient
from deepclean.utils.triton.ensemble import StreamSpec, build_stream
from deepclean.utils.triton.server import start_on_free_ports

UPDATE_S = 0.25


def export_deepclean(
    root: Path, num_witnesses: int, kernel: int, max_batch: int
) -> dict[str, float]:
    """Export an untrained DeepClean twice (versions 1 and 2); return timing figures."""
    model = ModelRepository(root).create_model("deepclean", Platform.PYTHON)
    model.config.max_batch_size = max_batch
    model.add_instance_group("cpu", count=1)
    seconds = []
    for version in (1, 2):
        torch.manual_seed(version)
        started = time.perf_counter()
        model.export_version(
            DeepCleanModel(num_witnesses).eval(),
            input_shapes={"witness": (None, num_witnesses, kernel)},
            output_names=["noise"],
        )
        seconds.append(time.perf_counter() - started)
    status = json.loads((model.path / "1" / STATUS_FILENAME).read_text())
    return {"export_s": seconds[0], "export_again_s": seconds[1], "status": status}


def bench_rate(base: Path, rate: int, args: argparse.Namespace) -> dict[str, float]:
    root = base / f"rate{rate}"
    shutil.copytree(base / "deepclean-export", root)
    channels = ("STRAIN", *(f"W{i:02d}" for i in range(args.witnesses)))
    spec = StreamSpec(
        channels=channels,
        sample_rate=args.sample_rate,
        kernel_length=1.0,
        stride_length=1 / rate,
        batch_size=int(rate * UPDATE_S),
        max_latencies=(0.5,),
    )
    build_stream(root, spec, production=1, canary=2)
    g = spec.geometry()
    rng = np.random.default_rng(rate)
    update = rng.standard_normal((args.witnesses, g.update_size)).astype(np.float32)
    started = time.perf_counter()
    server = start_on_free_ports(root, log_path=base / f"triton-{rate}.log")
    startup = time.perf_counter() - started
    with server, StreamClient(server.grpc_url, timeout=120) as client:
        for k in range(3):  # warm-up
            client.infer(1, update, start=k == 0)
        latencies = []
        t0 = time.perf_counter()
        k = 0
        while k < args.updates and time.perf_counter() - t0 < args.max_seconds:
            latencies.append(client.infer(1, update, end=False).latency)
            k += 1
        wall = time.perf_counter() - t0
        client.infer(1, update, end=True)
    lat = np.array(latencies) * 1e3
    run = onnx_runner(root / "deepclean" / "1" / "model.onnx", ["noise"])
    windows = {
        "witness": rng.standard_normal((g.batch_size, args.witnesses, g.kernel_size)).astype(
            np.float32
        )
    }
    run(windows)
    model_ms = []
    for _ in range(5):
        t = time.perf_counter()
        run(windows), run(windows)  # production and canary
        model_ms.append((time.perf_counter() - t) * 1e3)
    return {
        "rate": rate,
        "batch": g.batch_size,
        "stride": g.stride,
        "updates": len(lat),
        "startup_s": startup,
        "median_ms": float(np.median(lat)),
        "p95_ms": float(np.percentile(lat, 95)),
        "max_ms": float(lat.max()),
        "updates_per_s": len(lat) / wall,
        "realtime": len(lat) * UPDATE_S / wall,
        "model_ms": float(np.median(model_ms)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rates",
        type=int,
        nargs="+",
        default=[64, 128, 256, 512],
        help="kernels per second of data",
    )
    parser.add_argument("--witnesses", type=int, default=21, help="witness channels W")
    parser.add_argument("--sample-rate", type=int, default=4096, help="Hz")
    parser.add_argument("--updates", type=int, default=120, help="timed updates per rate (at most)")
    parser.add_argument(
        "--max-seconds", type=float, default=30.0, help="wall-time cap of the timed part per rate"
    )
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    base = Path(tempfile.mkdtemp(prefix="bench-triton-"))
    try:
        figures = export_deepclean(
            base / "deepclean-export",
            args.witnesses,
            args.sample_rate,
            max_batch=int(max(args.rates) * UPDATE_S),
        )
        verification = figures["status"].get("verification", {})
        print(
            f"DeepClean export (python platform, W={args.witnesses}, kernel "
            f"{args.sample_rate} samples): "
            f"first {figures['export_s']:.1f} s, second {figures['export_again_s']:.1f} s "
            "(export + verification); "
            f"worst abs error {verification.get('worst_abs_error', float('nan')):.2g}"
        )
        print(
            f"{'rate/s':>7} {'batch':>5} {'stride':>6} {'updates':>7} {'start s':>7} "
            f"{'median ms':>9} "
            f"{'p95 ms':>8} {'max ms':>8} {'upd/s':>7} {'x realtime':>10} {'model ms':>8}"
        )
        for rate in args.rates:
            r = bench_rate(base, rate, args)
            print(
                f"{r['rate']:>7} {r['batch']:>5} {r['stride']:>6} {r['updates']:>7} "
                f"{r['startup_s']:>7.1f} "
                f"{r['median_ms']:>9.1f} {r['p95_ms']:>8.1f} {r['max_ms']:>8.1f} "
                f"{r['updates_per_s']:>7.2f} "
                f"{r['realtime']:>10.2f} {r['model_ms']:>8.1f}",
                flush=True,
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
