"""deepclean-stream on a real Triton server, streamed over gRPC, against the offline computation.

The repository holds DeepClean (three versions, python platform: onnxruntime inside Triton),
the snapshotter, the two aggregators and the ensemble. Witnesses come from the simulated
detector, resampled to the test rate. The oracle runs the same windows through the torch
modules (not the exported ONNX files) and averages them with the numpy streaming classes.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
import tritonclient.grpc as grpcclient
from scipy.signal import resample_poly

from deepclean.utils.errors import ServerUnavailableError
from deepclean.utils.export import ExportOptions, ModelRepository, OnnxExporter, Platform
from deepclean.utils.export.config import specific_versions
from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.simulation.channels import MAINS
from deepclean.utils.simulation.detector import DetectorConfig, simulate
from deepclean.utils.streaming import OnlineAverager, Snapshotter, StreamGeometry
from deepclean.utils.triton.client import StreamClient, UpdateResult, concatenate, stream_updates
from deepclean.utils.triton.ensemble import StreamSpec, build_stream
from deepclean.utils.triton.names import Role
from deepclean.utils.triton.server import TritonServer, start_on_free_ports
from deepclean.utils.triton.versions import read_versions, set_versions

pytestmark = pytest.mark.slow

RATE = 1024  # Hz: a quarter of production, to keep the test quick; the geometry logic is rate-free
GPS = 1_260_000_000
WITNESSES = (MAINS, "ASC-CHARD_P_OUT_DQ", "ASC-DHARD_P_OUT_DQ", "ASC-PRC2_P_OUT_DQ")
COUPLINGS = (("ASC-CHARD_P_OUT_DQ", 0.7), ("ASC-DHARD_P_OUT_DQ", 1.0), ("ASC-PRC2_P_OUT_DQ", 0.35))
SPEC = StreamSpec(
    channels=("H1:GDS-CALIB_STRAIN", *(f"H1:{w}" for w in sorted(WITNESSES))),
    sample_rate=RATE,
    kernel_length=1.0,
    stride_length=1 / 32,
    batch_size=8,
    max_latencies=(0.5,),
    streams=2,
)
G: StreamGeometry = (
    SPEC.geometry()
)  # kernel 1024, stride 32, batch 8 (update 0.25 s), 16 updates averaged
W = SPEC.num_witnesses
STREAM_S = 64  # seconds streamed per sequence (>= 60)
TOLERANCE = 1e-5  # max |streamed - offline| relative to max |offline|


def simulated(seed: int, duration_s: int) -> tuple[np.ndarray, np.ndarray]:
    """Witnesses ``(W, samples)`` float32 and strain ``(samples,)`` at RATE."""
    config = DetectorConfig(seed=seed, witnesses=WITNESSES, couplings=COUPLINGS)
    stretch = simulate(config, GPS, duration_s)
    names = config.channel_list()[1:]
    assert names == list(SPEC.channels[1:])
    witness = np.stack([resample_poly(stretch.witnesses[n], RATE, stretch.rates[n]) for n in names])
    return witness.astype(np.float32), resample_poly(stretch.strain, RATE, 16384)


def updates(x: np.ndarray) -> list[np.ndarray]:
    return [x[:, i : i + G.update_size] for i in range(0, x.shape[1], G.update_size)]


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    a, strain = simulated(seed=1, duration_s=2 * STREAM_S)
    b, _ = simulated(seed=2, duration_s=STREAM_S)
    return {"a": a, "b": b, "strain": strain}


@pytest.fixture(scope="module")
def networks(data: dict[str, np.ndarray]) -> dict[int, DeepCleanModel]:
    """Untrained DeepClean versions 1-3 (different seeds), scalers fitted on the simulated data."""
    nets = {}
    for version in (1, 2, 3):
        torch.manual_seed(version)
        net = DeepCleanModel(W)
        net.witness_scaler.fit(data["a"])
        net.target_scaler.fit(data["strain"])
        nets[version] = net.eval()
    return nets


@pytest.fixture(scope="module")
def repository(
    tmp_path_factory: pytest.TempPathFactory, networks: dict[int, DeepCleanModel]
) -> Path:
    root = tmp_path_factory.mktemp("triton") / "model_repo"
    model = ModelRepository(root).create_model("deepclean", Platform.PYTHON)
    model.config.max_batch_size = 2 * G.batch_size
    model.add_instance_group("cpu", count=1)
    for version, net in networks.items():  # the default (dynamo) exporter once, the fast one after
        options = (
            ExportOptions()
            if version == 1
            else ExportOptions(onnx_exporter=OnnxExporter.TORCHSCRIPT)
        )
        model.export_version(
            net,
            input_shapes={"witness": (None, W, G.kernel_size)},
            output_names=["noise"],
            options=options,
        )
    build_stream(root, SPEC, production=1, canary=2)  # version 3 stays on disk, unloaded
    return root


@pytest.fixture(scope="module")
def server(repository: Path) -> Iterator[TritonServer]:
    triton = start_on_free_ports(repository, log_path=repository.parent / "triton.log")
    try:
        yield triton
    finally:
        triton.stop()


def predict(net: DeepCleanModel, windows: np.ndarray, chunk: int = 512) -> np.ndarray:
    with torch.no_grad():
        return np.concatenate(
            [
                net(torch.from_numpy(windows[i : i + chunk])).numpy()
                for i in range(0, len(windows), chunk)
            ]
        )


class Offline:
    """The offline computation for one input: windows once, predictions per version on demand."""

    def __init__(self, x: np.ndarray, networks: dict[int, DeepCleanModel]) -> None:
        snapshotter = Snapshotter(W, G)
        self.windows = np.stack(
            [snapshotter.update(u) for u in updates(x)]
        )  # (updates, batch, W, kernel)
        self.networks = networks
        self._predictions: dict[tuple[int, int], np.ndarray] = {}

    def prepare(self, version: int, start: int, stop: int) -> None:
        """Predict updates ``start..stop-1`` with ``version`` (one batched call for the missing
        ones)."""
        todo = [k for k in range(start, stop) if (version, k) not in self._predictions]
        if todo:
            preds = predict(
                self.networks[version], self.windows[todo].reshape(-1, W, G.kernel_size)
            )
            for k, p in zip(todo, preds.reshape(len(todo), G.batch_size, G.kernel_size)):
                self._predictions[version, k] = p

    def noise(self, versions: Sequence[int]) -> np.ndarray:
        """The averaged noise when update ``k`` goes through DeepClean ``versions[k]``."""
        for version in set(versions):
            self.prepare(
                version, versions.index(version), len(versions) - versions[::-1].index(version)
            )
        averager = OnlineAverager(G)
        return np.concatenate(
            [averager.update(self._predictions[v, k]) for k, v in enumerate(versions)]
        )


def assert_close(streamed: np.ndarray, offline: np.ndarray) -> None:
    assert streamed.shape == offline.shape
    scale = np.abs(offline).max()
    assert scale > 0
    error = np.abs(streamed - offline).max()
    assert error <= TOLERANCE * scale, (
        f"max |streamed - offline| = {error:.3g}, {error / scale:.2g} of the scale {scale:.3g}"
    )


@pytest.fixture(scope="module")
def separate(server: TritonServer, data: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Sequences a and b streamed one after the other (sequence ids 11 and 12)."""
    out = {}
    with StreamClient(server.grpc_url) as client:
        for sequence_id, name in ((11, "a"), (12, "b")):
            results = stream_updates(client, sequence_id, updates(data[name][:, : STREAM_S * RATE]))
            assert [r.index for r in results] == list(range(STREAM_S * RATE // G.update_size))
            out[name] = concatenate(results)
    return out


def test_stream_equals_offline(separate: dict, data: dict, networks: dict) -> None:
    offline = Offline(data["a"][:, : STREAM_S * RATE], networks)
    n = len(offline.windows)
    assert separate["a"]["noise_production"].shape == (STREAM_S * RATE,)
    assert_close(separate["a"]["noise_production"], offline.noise([1] * n))
    assert_close(separate["a"]["noise_canary"], offline.noise([2] * n))
    # the two versions really differ, so the comparison above tells them apart
    assert (
        np.abs(offline.noise([1] * n) - offline.noise([2] * n)).max()
        > 100 * TOLERANCE * np.abs(offline.noise([1] * n)).max()
    )


def test_interleaved_sequences_equal_separate_runs(
    server: TritonServer, separate: dict, data: dict
) -> None:
    a, b = (updates(data[name][:, : STREAM_S * RATE]) for name in ("a", "b"))
    got: dict[int, list[UpdateResult]] = {21: [], 22: []}
    with StreamClient(server.grpc_url) as client:
        for k, (ua, ub) in enumerate(zip(a, b)):  # both sequences in flight at once
            last = k == len(a) - 1
            ka = client.send(21, ua, start=k == 0, end=last)
            kb = client.send(22, ub, start=k == 0, end=last)
            got[22].append(client.result(22, kb))
            got[21].append(client.result(21, ka))
    for sequence_id, name in ((21, "a"), (22, "b")):
        interleaved = concatenate(got[sequence_id])
        for output in ("noise_production", "noise_canary"):
            assert_close(interleaved[output], separate[name][output])


def test_versions_change_while_streaming(
    server: TritonServer, repository: Path, data: dict, networks: dict
) -> None:
    """Load canary 3, then promote it, while one sequence streams; every update answered once, in
    order."""
    x = data["a"]
    progress = [0]
    marks: dict[str, int] = {}
    failure: list[BaseException] = []
    done = threading.Event()

    def wait_for(count: int) -> None:
        while progress[0] < count and not done.is_set():
            time.sleep(0.005)

    def swapper() -> None:
        try:
            wait_for(40)
            marks["canary_from"] = progress[0]
            set_versions(repository, production=1, canary=3, url=server.grpc_url)
            marks["canary_to"] = progress[0]
            wait_for(marks["canary_to"] + 20)
            marks["promote_from"] = progress[0]
            set_versions(repository, production=3, canary=3, url=server.grpc_url)
            marks["promote_to"] = progress[0]
            wait_for(marks["promote_to"] + 20)
        except BaseException as exc:  # reported by the main thread
            failure.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=swapper, name="swapper")
    results: list[UpdateResult] = []
    chunks = updates(x)
    with StreamClient(server.grpc_url) as client:
        thread.start()
        try:
            for k, update in enumerate(chunks):
                results.append(client.infer(31, update, start=k == 0))
                progress[0] = k + 1
                if done.is_set() and k + 1 >= STREAM_S * RATE // G.update_size:
                    break
                time.sleep(0.02)  # stream at a steady pace while the swapper works
            if len(results) < len(
                chunks
            ):  # end the sequence (Triton holds open sequences at shutdown)
                results.append(client.infer(31, chunks[len(results)], end=True))
        finally:
            done.set()
            thread.join()
    if failure:
        raise failure[0]
    assert "promote_to" in marks, (
        f"the versions did not change within {len(chunks)} updates: {marks}"
    )
    n = len(results)
    assert [r.index for r in results] == list(range(n))  # none lost, none repeated
    assert (
        marks["canary_from"] <= marks["canary_to"] and marks["promote_from"] <= marks["promote_to"]
    )

    offline = Offline(x[:, : n * G.update_size], networks)
    streamed = concatenate(results)
    offline.prepare(1, 0, marks["promote_to"] + 1)
    offline.prepare(2, 0, marks["canary_to"] + 1)
    offline.prepare(3, marks["canary_from"], n)
    for output, before, after, first, last in (
        ("noise_canary", 2, 3, marks["canary_from"], marks["canary_to"]),
        ("noise_production", 1, 3, marks["promote_from"], marks["promote_to"]),
    ):
        scale = np.abs(streamed[output]).max()
        matches = [
            j
            for j in range(first, last + 1)
            if np.abs(streamed[output] - offline.noise([before] * j + [after] * (n - j))).max()
            <= TOLERANCE * scale
        ]
        assert len(matches) == 1, (
            f"{output}: switch from version {before} to {after} matched at updates {matches}"
        )

    assert read_versions(repository) == {Role.PRODUCTION: 3, Role.CANARY: 3}
    client = grpcclient.InferenceServerClient(server.grpc_url)
    assert [client.is_model_ready("deepclean", str(v)) for v in (1, 2, 3)] == [False, False, True]
    assert client.is_model_ready("deepclean-stream")


def test_a_canary_that_fails_to_load_leaves_the_stream_untouched(
    server: TritonServer, repository: Path, data: dict, networks: dict
) -> None:
    """A broken version is refused; configs are restored and the loaded versions keep serving."""
    model = ModelRepository(repository)["deepclean"]
    broken = repository / "deepclean" / "4"
    shutil.copytree(repository / "deepclean" / str(model.versions[-1]), broken)
    (broken / "model.onnx").write_bytes(b"not an onnx file")
    before = read_versions(repository)
    with pytest.raises(
        ServerUnavailableError, match="refused to switch deepclean-stream to production 3, canary 4"
    ):
        set_versions(repository, production=3, canary=4, url=server.grpc_url)
    assert read_versions(repository) == before
    assert specific_versions(ModelRepository(repository)["deepclean"].config) == sorted(
        set(before.values())
    )
    x = data["b"][:, : 4 * RATE]
    with StreamClient(server.grpc_url) as client:
        streamed = concatenate(stream_updates(client, 41, updates(x)))
    offline = Offline(x, networks)
    n = len(offline.windows)
    assert_close(streamed["noise_production"], offline.noise([before[Role.PRODUCTION]] * n))
    assert_close(streamed["noise_canary"], offline.noise([before[Role.CANARY]] * n))
