"""The exporter on a real Triton: time from ``POST /models`` to the canary serving it, and
promotions.

Simulates a short stretch of frames (21 witnesses by default, as production), trains a few
tiny runs (seconds each: the figures are about exporting, not training), starts Triton on an
empty repository and the exporter app (waitress, the cpu profile's geometry) in this process,
then for each run: ``POST /models`` -> job done and ``deepclean-stream`` serving it as the
canary; then promotions of the canary (its version is loaded already) and rollbacks
(``POST /rollback``: the previous production version is loaded first). A gRPC stream runs
throughout at real-time pace; it must not lose or repeat an update. Not a test: prints
figures.

    .venv/bin/python benchmarks/bench_exporter.py [--runs 3] [--witnesses 21]
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import torch
from tritonclient.grpc import InferenceServerClient

from deepclean.services.cli import main as deepclean
from deepclean.services.exporter.app import Exporter, create_app
from deepclean.services.exporter.repository import ModelStore
from deepclean.services.exporter.settings import ExporterSettings
from deepclean.utils.channels import parse_channels
from deepclean.utils.config import load_settings
from deepclean.utils.http_server import HttpServer
from deepclean.utils.training.settings import profile_overrides
from deepclean.utils.triton.client import StreamClient
from deepclean.utils.triton.server import start_on_free_ports
from deepclean.utils.triton.versions import served_versions

GPS = 1_400_000_000
TRAIN = [
    "--kernel-length",
    "2",
    "--kernel-stride",
    "1",
    "--batch-size",
    "8",
    "--max-epochs",
    "1",
    "--max-steps",
    "3",
    "--num-threads",
    "1",
    "--max-valid-loss",
    "10",
    "--max-valid-ratio",
    "10",
]


TOKEN = secrets.token_urlsafe(32)  #: the exporter app's token for this run


def request(method: str, url: str, body=None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=300) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class PacedStream(threading.Thread):
    """One sequence at real-time pace (an update every update_seconds), one update in flight."""

    def __init__(self, url: str, witnesses: int, update: int, seconds: float) -> None:
        super().__init__(daemon=True)
        self.client = StreamClient(url).__enter__()
        self.shape, self.period = (witnesses, update), seconds
        self.latencies: list[float] = []
        self.error: BaseException | None = None
        self.halt = threading.Event()

    def run(self) -> None:
        rng = np.random.default_rng(0)
        try:
            index = 0
            while not self.halt.is_set():
                started = time.monotonic()
                result = self.client.infer(
                    1, rng.standard_normal(self.shape).astype(np.float32), start=index == 0
                )
                assert result.index == index
                self.latencies.append(result.latency)
                index += 1
                self.halt.wait(max(0.0, self.period - (time.monotonic() - started)))
            self.client.infer(1, rng.standard_normal(self.shape).astype(np.float32), end=True)
        except BaseException as exc:  # noqa: BLE001 - reported at the end
            self.error = exc
        finally:
            self.client.close()


def summary(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.2f} s (min {min(values):.2f}, max "
        f"{max(values):.2f}, n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="training runs exported one after the other"
    )
    parser.add_argument(
        "--witnesses", type=int, default=21, help="witness channels of the simulated detector"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for name in ("torch.onnx", "onnx_ir", "onnxscript"):
        logging.getLogger(name).setLevel(logging.ERROR)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="bench-exporter-") as tmp:
        root = Path(tmp)
        data, project = root / "data", root / "project"
        assert (
            deepclean(
                [
                    "simulate",
                    "--data-dir",
                    str(data),
                    "--ifo",
                    "H1",
                    "--start",
                    str(GPS),
                    "--duration",
                    str(40 + 4 * args.runs),
                    "--backfill",
                    "--num-witnesses",
                    str(args.witnesses),
                ]
            )
            == 0
        )
        runs = []
        for i in range(args.runs):
            start = GPS + 4 * i
            out = project / "train" / f"{start}-{start + 32}"
            assert (
                deepclean(
                    [
                        "train",
                        "--profile",
                        "cpu",
                        "--data-dir",
                        str(data),
                        "--ifo",
                        "H1",
                        "--channels",
                        str(data / "channels.txt"),
                        "--start",
                        str(start),
                        "--duration",
                        "32",
                        "--output-dir",
                        str(out),
                        *TRAIN,
                    ]
                )
                == 0
            )
            runs.append(out.resolve())
        logging.getLogger().setLevel(logging.WARNING)
        (project / "model_repo").mkdir()
        settings = load_settings(
            ExporterSettings,
            {
                "project_dir": project,
                "data_dir": data,
                "ifo": "H1",
                "channels": [str(data / "channels.txt")],
            },
            environ={},
            env_file=None,
            overrides=profile_overrides("cpu", ExporterSettings),
        )
        with start_on_free_ports(project / "model_repo", log_path=root / "triton.log") as triton:
            started = time.perf_counter()
            store = ModelStore(
                settings, parse_channels(settings.channels, "H1"), url=triton.grpc_url
            )
            store.bootstrap()
            bootstrap = time.perf_counter() - started
            exporter = Exporter(settings, store)
            with HttpServer(create_app(settings, store, exporter=exporter, token=TOKEN)) as server:
                g = store.spec.geometry()
                stream = PacedStream(
                    triton.grpc_url,
                    args.witnesses,
                    g.update_size,
                    g.update_size / settings.sample_rate,
                )
                stream.start()
                client = InferenceServerClient(triton.grpc_url)
                exports, promotions, rollbacks = [], [], []
                for run in runs:
                    t0 = time.perf_counter()
                    status, job = request("POST", f"{server.url}/models", {"model_dir": str(run)})
                    assert status == 202, job
                    while job["status"] not in ("done", "failed"):
                        time.sleep(0.05)
                        job = request("GET", f"{server.url}/jobs/{job['job']}")[1]
                    assert job["status"] == "done", job
                    while served_versions(client)["canary"] != job["version"]:
                        time.sleep(0.01)
                    exports.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    status, body = request(
                        "POST", f"{server.url}/promote", {"version": job["version"]}
                    )
                    assert status == 200, body
                    promotions.append(time.perf_counter() - t0)
                versions = list(range(2, 2 + args.runs))
                for version in reversed(
                    versions[1:]
                ):  # roll back one promotion at a time (the older version not loaded before)
                    t0 = time.perf_counter()
                    status, body = request(
                        "POST", f"{server.url}/rollback", {"production": version}
                    )
                    assert status == 200, body
                    rollbacks.append(time.perf_counter() - t0)
                stream.halt.set()
                stream.join(60)
                client.close()
    print(
        f"exporter on {args.witnesses} witnesses, cpu profile ({g.kernel_size}-sample "
        f"windows every {g.stride} "
        f"samples, {g.batch_size} per update), platform {settings.platform.value}:"
    )
    print(
        "  start-up on an empty repository (untrained version 1 built and loaded): "
        f"{bootstrap:.2f} s"
    )
    print(f"  POST /models -> canary serving the run:           {summary(exports)}")
    print(f"  POST /promote of the canary (already loaded):     {summary(promotions)}")
    if rollbacks:
        print(f"  POST /rollback to the previous production:       {summary(rollbacks)}")
    lat = sorted(stream.latencies)
    print(
        f"  stream meanwhile: {len(lat)} updates, none lost or repeated"
        f"{'' if stream.error is None else f' -- FAILED: {stream.error}'}; update latency median "
        f"{statistics.median(lat) * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
