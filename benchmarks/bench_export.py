"""Export + verification time per platform for DeepClean (not a test: prints figures).

DeepClean with W=21 witnesses and 4096-sample kernels (1 s at 4096 Hz), scalers fitted to
strain-sized targets (1e-21), exported into a temporary repository once per platform, each
into a fresh Python process state-wise comparable (the first dynamo export of a process
also pays torch.onnx's one-off imports; it is reported as "dynamo (first)").

Prints, per platform: wall time of export_version (export + verification), the export part
alone (from export_status.json), the worst absolute/relative error and the artifact's
latency per verification batch size (median of 3 runs).

    .venv/bin/python benchmarks/bench_export.py [--batch-sizes 1 128] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time

import numpy as np
import torch

from deepclean.utils.errors import ExportError
from deepclean.utils.export import (
    STATUS_FILENAME,
    ExportOptions,
    ModelRepository,
    OnnxExporter,
    Platform,
    Verification,
)
from deepclean.utils.nn import DeepCleanModel

W, KERNEL = 21, 4096

CASES = [
    ("onnxruntime_onnx, dynamo (first)", Platform.ONNX, OnnxExporter.DYNAMO),
    ("onnxruntime_onnx, dynamo", Platform.ONNX, OnnxExporter.DYNAMO),
    ("onnxruntime_onnx, legacy tracer", Platform.ONNX, OnnxExporter.TORCHSCRIPT),
    ("python (onnxruntime), dynamo", Platform.PYTHON, OnnxExporter.DYNAMO),
    ("pytorch_libtorch", Platform.TORCHSCRIPT, OnnxExporter.DYNAMO),
    ("tensorrt_plan", Platform.TENSORRT, OnnxExporter.DYNAMO),
]


def deepclean() -> DeepCleanModel:
    torch.manual_seed(0)
    model = DeepCleanModel(W)
    rng = np.random.default_rng(0)
    model.witness_scaler.fit(rng.standard_normal((W, 10_000)) * rng.uniform(0.1, 10, (W, 1)))
    model.target_scaler.fit(rng.standard_normal(10_000) * 1e-21)
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--batch-sizes", type=int, nargs="+", default=[1, 128], help="verification batch sizes"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for name in ("torch.onnx", "onnx_ir", "onnxscript"):
        logging.getLogger(name).setLevel(logging.ERROR)
    module = deepclean()
    verification = Verification(batch_sizes=tuple(args.batch_sizes))
    print(
        f"DeepClean W={W}, kernel {KERNEL} samples, "
        f"{sum(p.numel() for p in module.parameters())} parameters; "
        f"torch {torch.__version__}, {args.threads} thread(s)"
    )
    header = (
        f"{'platform':34s} {'total s':>8s} {'export s':>9s} {'max abs err':>12s} "
        f"{'max rel err':>12s}  latency ms per batch"
    )
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        repo = ModelRepository(tmp)
        for label, platform, exporter in CASES:
            model = repo.create_model("deepclean", platform, force=True)
            model.config.max_batch_size = max(args.batch_sizes)
            start = time.perf_counter()
            try:
                path = model.export_version(
                    module,
                    input_shapes={"witness": (None, W, KERNEL)},
                    output_names=["noise__0" if platform is Platform.TORCHSCRIPT else "noise"],
                    verification=verification,
                    options=ExportOptions(onnx_exporter=exporter),
                )
            except ExportError as exc:
                print(f"{label:34s} unavailable: {str(exc)[:110]}...")
                continue
            total = time.perf_counter() - start
            status = json.loads((path.parent / STATUS_FILENAME).read_text())
            check = status["verification"]
            latency = ", ".join(
                f"{b['batch_size']}: {b['latency_ms']:.1f}" for b in check["batches"]
            )
            print(
                f"{label:34s} {total:8.2f} {status['export_seconds']:9.2f} "
                f"{check['worst_abs_error']:12.3g} "
                f"{check['worst_rel_error']:12.3g}  {latency}"
            )


if __name__ == "__main__":
    main()
