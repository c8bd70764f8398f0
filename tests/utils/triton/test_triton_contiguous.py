"""deepclean-stream in the contiguous stream mode on a real Triton, at the production geometry.

DeepClean (two versions, python platform) takes one stretch per phase (2 x 1216 samples for
a stride of 8 samples and 128 windows per update at 4096 Hz); the stream streamed over gRPC
must equal :func:`deepclean.utils.streaming.stream` with the torch modules, and a client
reading the served configs (as the cleaner does) must find the contiguous lag.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
import tritonclient.grpc as grpcclient

from deepclean.utils.export import ExportOptions, ModelRepository, OnnxExporter, Platform
from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.nn.inference import torch_predictor
from deepclean.utils.streaming import StreamMode, stream
from deepclean.utils.triton.client import StreamClient, concatenate, stream_updates
from deepclean.utils.triton.ensemble import StreamSpec, build_stream
from deepclean.utils.triton.names import Role
from deepclean.utils.triton.served import fetch_served
from deepclean.utils.triton.server import TritonServer, start_on_free_ports

pytestmark = pytest.mark.slow

RATE, W = 4096, 4
SPEC = StreamSpec(
    channels=("H1:GDS-CALIB_STRAIN", *(f"H1:PEM-W{i}_DQ" for i in range(W))),
    sample_rate=RATE,
    kernel_length=1.0,
    stride_length=1 / 512,
    batch_size=128,
    stream_mode=StreamMode.CONTIGUOUS,
)
G = SPEC.geometry()
TOLERANCE = 1e-5  # max |streamed - offline| relative to max |offline|


@pytest.fixture(scope="module")
def networks() -> dict[int, DeepCleanModel]:
    rng = np.random.default_rng(0)
    nets = {}
    for version in (1, 2):
        torch.manual_seed(version)
        net = DeepCleanModel(W)
        net.witness_scaler.fit(rng.standard_normal((W, 4096)) * 2 + 1)
        net.target_scaler.fit(rng.standard_normal(4096) * 1e-21)
        nets[version] = net.eval()
    return nets


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, networks: dict[int, DeepCleanModel]
) -> Iterator[TritonServer]:
    root = tmp_path_factory.mktemp("contiguous") / "model_repo"
    model = ModelRepository(root).create_model("deepclean", Platform.PYTHON)
    model.config.max_batch_size = 4
    model.add_instance_group("cpu", count=1)
    for net in networks.values():
        model.export_version(
            net,
            input_shapes={"witness": (None, W, G.input_size)},
            output_names=["noise"],
            options=ExportOptions(onnx_exporter=OnnxExporter.TORCHSCRIPT),
        )
    build_stream(root, SPEC, production=1, canary=2)
    triton = start_on_free_ports(root, log_path=root.parent / "triton.log")
    try:
        yield triton
    finally:
        triton.stop()


def test_geometry() -> None:
    assert (G.stride, G.update_size, G.lag_samples, G.model_batch, G.input_size) == (
        8,
        1024,
        104,
        2,
        1216,
    )


def test_contiguous_stream_equals_offline(
    server: TritonServer, networks: dict[int, DeepCleanModel]
) -> None:
    x = np.random.default_rng(5).standard_normal((W, 24 * G.update_size)).astype(np.float32) * 2 + 1
    chunks = [x[:, i : i + G.update_size] for i in range(0, x.shape[1], G.update_size)]
    with StreamClient(server.grpc_url) as client:
        results = stream_updates(client, 7, chunks)
    assert [r.index for r in results] == list(range(len(chunks)))
    streamed = concatenate(results)
    for role, version in ((Role.PRODUCTION, 1), (Role.CANARY, 2)):
        offline = stream(x, torch_predictor(networks[version]), G)
        got = streamed[f"noise_{role}"]
        assert got.shape == offline.shape == (x.shape[1],)
        scale = np.abs(offline).max()
        assert np.abs(got - offline).max() <= TOLERANCE * scale
    assert (
        np.abs(streamed["noise_production"] - streamed["noise_canary"]).max()
        > 100 * TOLERANCE * scale
    )


def test_served_configs_give_the_contiguous_lag(server: TritonServer) -> None:
    """What the cleaner reads: the update size and the lag (104 samples) from the ensemble's
    parameters."""
    client = grpcclient.InferenceServerClient(server.grpc_url)
    try:
        served = fetch_served(client)
        params = client.get_model_config("deepclean-stream", as_json=True)["config"]["parameters"]
    finally:
        client.close()
    assert served.geometry.lag_samples == 104 and served.geometry.update_size == 1024
    assert served.geometry.mode is StreamMode.CONTIGUOUS
    assert params["stream_mode"]["string_value"] == "contiguous"
    assert served.versions == {Role.PRODUCTION: 1, Role.CANARY: 2}
