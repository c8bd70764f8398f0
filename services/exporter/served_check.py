"""The check that Triton serves a freshly loaded DeepClean version as torch computes it."""

from __future__ import annotations

import numpy as np
import torch

from deepclean.services.exporter.export import INPUT_NAME, OUTPUT_NAME
from deepclean.utils.errors import ExportError
from deepclean.utils.triton.ensemble import StreamSpec
from deepclean.utils.triton.names import DEEPCLEAN, ENSEMBLE


def check_served(url: str | None, spec: StreamSpec, version: int, module: torch.nn.Module) -> None:
    """Run one window batch through the served version and compare with torch (ExportError if it
    differs)."""
    if url is None:
        return
    from tritonclient.grpc import InferenceServerClient, InferInput

    g = spec.geometry()
    x = (
        np.random.default_rng(version)
        .standard_normal((1, spec.num_witnesses, g.input_size))
        .astype(np.float32)
    )
    client = InferenceServerClient(url)
    try:
        if not client.is_model_ready(DEEPCLEAN, str(version)) or not client.is_model_ready(
            ENSEMBLE
        ):
            raise ExportError(
                f"Triton at {url} does not serve {DEEPCLEAN} version {version} after loading it"
            )
        request = InferInput(INPUT_NAME, list(x.shape), "FP32")
        request.set_data_from_numpy(x)
        served = client.infer(DEEPCLEAN, [request], model_version=str(version)).as_numpy(
            OUTPUT_NAME
        )
    finally:
        client.close()
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    error = float(np.max(np.abs(served - want)))
    scale = float(np.max(np.abs(want)))
    if not np.all(np.isfinite(served)) or error > 1e-3 * scale + 1e-30:
        raise ExportError(
            f"{DEEPCLEAN} version {version} served by Triton differs from the torch model "
            f"(max error {error:.3g}, scale {scale:.3g})"
        )
