"""ModelRepository: the issue's intended use, create/force/exists, reading back, transactions."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from tritonclient.grpc import model_config_pb2 as pb

from deepclean.utils.errors import ExportError
from deepclean.utils.export import STATUS_FILENAME, ModelRepository, Platform


def test_intended_use(tmp_path, linear_net) -> None:
    """The example from the issue, line by line (default ONNX exporter: dynamo)."""
    root = tmp_path / "repo"
    repo = ModelRepository(root)
    model = repo.create_model("my_nn", platform=Platform.ONNX)
    model.config.max_batch_size = 64
    model.add_instance_group("gpu", count=4)
    path = model.export_version(linear_net, input_shapes={"input": (None, 256)})
    assert path == root / "my_nn" / "1" / "model.onnx"
    with pytest.raises(ValueError, match="model my_nn already exists"):
        repo.create_model("my_nn", platform=Platform.ONNX)
    assert repo.create_model("my_nn", platform=Platform.ONNX, force=True).name == "my_nn_0"
    assert repo.create_model("my_nn", platform=Platform.ONNX, force=True).name == "my_nn_1"

    config = model.config
    assert (config.platform, config.max_batch_size) == ("onnxruntime_onnx", 64)
    assert [(t.name, list(t.dims), pb.DataType.Name(t.data_type)) for t in config.input] == [
        ("input", [256], "TYPE_FP32")
    ]
    assert [(t.name, list(t.dims)) for t in config.output] == [("output", [4])]
    assert [(g.count, g.kind) for g in config.instance_group] == [
        (4, pb.ModelInstanceGroup.KIND_GPU)
    ]

    # the file on disk runs at any batch size and agrees with torch
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).standard_normal((5, 256)).astype(np.float32)
    with torch.no_grad():
        expected = linear_net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(session.run(None, {"input": x})[0], expected, rtol=1e-5, atol=1e-6)

    status = json.loads((path.parent / STATUS_FILENAME).read_text())
    assert status["verification"]["passed"] and status["onnx_exporter"] == "dynamo"
    assert [b["batch_size"] for b in status["verification"]["batches"]] == [1, 64]
    assert all(b["latency_ms"] > 0 for b in status["verification"]["batches"])

    # read back from config.pbtxt; never-exported models were not written
    reread = ModelRepository(root)
    assert sorted(reread.models) == ["my_nn"]
    assert reread["my_nn"].config == config
    assert reread["my_nn"].platform is Platform.ONNX and reread["my_nn"].versions == [1]
    assert reread.create_model("my_nn", platform="onnxruntime_onnx", force=True).name == "my_nn_0"


def test_existing_directory_blocks_name(tmp_path) -> None:
    (tmp_path / "taken").mkdir()
    repo = ModelRepository(tmp_path)
    assert "taken" not in repo  # a folder without config.pbtxt is not a model ...
    with pytest.raises(ValueError, match="model taken already exists"):
        repo.create_model("taken", Platform.ONNX)  # ... but its name is not free
    assert repo.create_model("taken", Platform.ONNX, force=True).name == "taken_0"


@pytest.mark.parametrize(
    "name", ["", "a/b", ".hidden", "white space"], ids=["empty", "slash", "hidden", "space"]
)
def test_bad_model_names(tmp_path, name: str) -> None:
    with pytest.raises(ValueError, match="is not allowed"):
        ModelRepository(tmp_path).create_model(name, Platform.ONNX)


def test_unknown_platform(tmp_path) -> None:
    with pytest.raises(
        ValueError, match="unknown platform 'onnx'; allowed: onnxruntime_onnx, pytorch_libtorch"
    ):
        ModelRepository(tmp_path).create_model("m", "onnx")


def test_config_name_must_match_folder(tmp_path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "config.pbtxt").write_text('name: "b"\nplatform: "ensemble"\n')
    with pytest.raises(ValueError, match="names model 'b'.*folder 'a'"):
        ModelRepository(tmp_path)


def test_transaction_rolls_back(tmp_path, small_net) -> None:
    repo = ModelRepository(tmp_path)
    model = repo.create_model("net", Platform.TORCHSCRIPT)
    model.config.max_batch_size = 4
    model.export_version(small_net, input_shapes={"x": (None, 3, 64)})
    before = {
        p.relative_to(tmp_path): p.read_bytes() if p.is_file() else None
        for p in tmp_path.rglob("*")
    }

    with pytest.raises(RuntimeError, match="boom"), repo.transaction():
        repo["net"].export_version(small_net)
        repo["net"].keep_versions([1, 2])
        repo["net"].write_config()
        other = repo.create_model("other", Platform.TORCHSCRIPT)
        other.export_version(small_net, input_shapes={"x": (2, 3, 64)})
        raise RuntimeError("boom")

    after = {
        p.relative_to(tmp_path): p.read_bytes() if p.is_file() else None
        for p in tmp_path.rglob("*")
    }
    assert after == before
    assert sorted(repo.models) == ["net"] and repo["net"].versions == [1]


def test_transaction_keeps_success(tmp_path, small_net) -> None:
    repo = ModelRepository(tmp_path)
    with repo.transaction():
        model = repo.create_model("net", Platform.TORCHSCRIPT)
        model.export_version(small_net, input_shapes={"x": (2, 3, 64)})
    assert ModelRepository(tmp_path)["net"].versions == [1]


def test_remove_model(tmp_path, small_net) -> None:
    repo = ModelRepository(tmp_path)
    repo.create_model("net", Platform.TORCHSCRIPT).export_version(
        small_net, input_shapes={"x": (2, 3, 64)}
    )
    repo.remove_model("net")
    assert not (tmp_path / "net").exists() and "net" not in repo
    with pytest.raises(KeyError, match="no model 'net'"):
        repo["net"]
    with pytest.raises(ExportError, match="already has version 1"):
        model = repo.create_model("again", Platform.TORCHSCRIPT)
        model.export_version(small_net, input_shapes={"x": (2, 3, 64)})
        model.export_version(small_net, version=1)
