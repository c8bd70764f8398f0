"""Each platform's export (or its clear error): ONNX (both exporters), TorchScript,
TensorRT (missing package), python (ONNX + model.py), ensemble, hand-written python models."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from tritonclient.grpc import model_config_pb2 as pb

from deepclean.utils.errors import ExportError
from deepclean.utils.export import (
    STATUS_FILENAME,
    ExportOptions,
    ModelRepository,
    OnnxExporter,
    Platform,
)
from deepclean.utils.export.exporters import python_model_source
from deepclean.utils.export.tensorrt_export import MISSING_TENSORRT

from .nets import SAMPLES, WITNESSES

SHAPES = {"witness": (None, WITNESSES, SAMPLES)}


def _torch(module, x):
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


class StrainScaled(torch.nn.Module):
    """Strain-sized outputs (~1e-21) plus a tiny offset, as DeepClean's output scaler adds.

    onnxscript's graph optimizer would delete the offset (it matches "x + 0" with abs_tol
    1e-8); the exporter must keep it.
    """

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) * 1e-21 + 3e-24


@pytest.fixture
def repo(tmp_path):
    return ModelRepository(tmp_path)


@pytest.mark.parametrize("exporter", list(OnnxExporter), ids=[e.value for e in OnnxExporter])
def test_onnx(repo, small_net, exporter) -> None:
    net = StrainScaled(small_net)
    model = repo.create_model("deepclean", Platform.ONNX)
    model.config.max_batch_size = 8
    path = model.export_version(
        net,
        input_shapes=SHAPES,
        output_names=["noise"],
        options=ExportOptions(onnx_exporter=exporter),
    )
    assert path.name == "model.onnx" and sorted(p.name for p in path.parent.iterdir()) == [
        STATUS_FILENAME,
        "model.onnx",
    ]
    assert [(t.name, list(t.dims)) for t in model.config.input] == [
        ("witness", [WITNESSES, SAMPLES])
    ]
    assert [(t.name, list(t.dims)) for t in model.config.output] == [("noise", [SAMPLES])]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[0] == "batch"  # dynamic batch axis
    x = np.random.default_rng(3).standard_normal((5, WITNESSES, SAMPLES)).astype(np.float32)
    expected = _torch(net, x)
    np.testing.assert_allclose(
        session.run(None, {"witness": x})[0], expected, rtol=0, atol=1e-5 * np.abs(expected).max()
    )
    status = json.loads((path.parent / STATUS_FILENAME).read_text())
    assert (
        status["onnx_exporter"] == exporter.value
        and status["verification"]["worst_rel_error"] < 1e-4
    )


def test_onnx_without_batching(repo, linear_net) -> None:
    """max_batch_size 0: the full shape goes into dims, -1 where the shape says None."""
    model = repo.create_model("plain", Platform.ONNX)
    model.export_version(
        linear_net,
        input_shapes={"input": (None, 256)},
        options=ExportOptions(onnx_exporter=OnnxExporter.TORCHSCRIPT),
    )
    assert [list(t.dims) for t in model.config.input] == [[-1, 256]]
    assert [list(t.dims) for t in model.config.output] == [[-1, 4]]


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_torchscript(repo, small_net) -> None:
    model = repo.create_model("deepclean", Platform.TORCHSCRIPT)
    model.config.max_batch_size = 8
    path = model.export_version(small_net, input_shapes=SHAPES)
    assert path.name == "model.pt" and model.config.platform == "pytorch_libtorch"
    assert [t.name for t in model.config.output] == ["output__0"]
    x = np.random.default_rng(4).standard_normal((3, WITNESSES, SAMPLES)).astype(np.float32)
    loaded = torch.jit.load(str(path))
    np.testing.assert_allclose(_torch(loaded, x), _torch(small_net, x), rtol=1e-6, atol=1e-6)


def test_torchscript_output_names(repo, small_net, tmp_path) -> None:
    model = repo.create_model("deepclean", Platform.TORCHSCRIPT)
    with pytest.raises(
        ValueError, match="output 0 is named 'noise'; Triton's libtorch backend needs '<name>__0'"
    ):
        model.export_version(small_net, input_shapes=SHAPES, output_names=["noise"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(
    importlib.util.find_spec("tensorrt") is not None, reason="tensorrt is installed here"
)
def test_tensorrt_missing(repo, small_net, tmp_path) -> None:
    model = repo.create_model("deepclean", Platform.TENSORRT)
    model.config.max_batch_size = 8
    with pytest.raises(
        ExportError, match="needs the Python package 'tensorrt'.*must be built on the serving GPU"
    ):
        model.export_version(small_net, input_shapes=SHAPES)
    assert "TensorRT version of the serving" in MISSING_TENSORRT
    assert list(tmp_path.iterdir()) == []


def test_python(repo, small_net) -> None:
    """Files and config only; tests/utils/export/test_onnxruntime_backend.py runs the model.py."""
    model = repo.create_model("deepclean", Platform.PYTHON)
    model.config.max_batch_size = 8
    path = model.export_version(
        small_net,
        input_shapes=SHAPES,
        output_names=["noise"],
        options=ExportOptions(onnx_exporter=OnnxExporter.TORCHSCRIPT),
    )
    assert path.name == "model.py" and path.read_text() == python_model_source().read_text()
    assert (path.parent / "model.onnx").is_file()
    assert (
        path.parent / "__pycache__"
    ).is_file()  # keeps the backend stub from writing bytecode here
    assert model.config.backend == "python" and not model.config.platform
    reread = ModelRepository(repo.path)["deepclean"]
    assert reread.platform is Platform.PYTHON and reread.outputs["noise"].dims == (SAMPLES,)


def test_hand_written_python_model(repo, tmp_path_factory) -> None:
    src = tmp_path_factory.mktemp("src")
    (src / "snap.py").write_text("# model\n")
    (src / "helper.py").write_text("# helper\n")
    model = repo.create_model("snapshotter", Platform.PYTHON)
    model.add_input("update", (1, 3, 8))
    model.add_output("windows", (None, 3, 64), np.float32)
    path = model.export_python(src / "snap.py", files=[src / "helper.py"])
    assert path == repo.path / "snapshotter" / "1" / "model.py" and path.read_text() == "# model\n"
    assert (path.parent / "helper.py").read_text() == "# helper\n"
    assert ModelRepository(repo.path)["snapshotter"].outputs["windows"].dims == (-1, 3, 64)
    with pytest.raises(ValueError, match="already has an input 'update'"):
        model.add_input("update", (1,))
    onnx_model = repo.create_model("net", Platform.ONNX)
    with pytest.raises(ValueError, match="export_python needs platform python"):
        onnx_model.export_python(src / "snap.py")


@pytest.fixture
def streaming_repo(repo, small_net):
    """Two TorchScript versions of a net plus a hand-declared pre-processing model."""
    net = repo.create_model("net", Platform.TORCHSCRIPT)
    net.config.max_batch_size = 8
    net.export_version(small_net, input_shapes=SHAPES)
    net.export_version(small_net)
    return repo


def test_ensemble(streaming_repo) -> None:
    repo = streaming_repo
    net = repo["net"]
    ensemble = repo.create_model("stream", Platform.ENSEMBLE)
    ensemble.config.max_batch_size = 8
    ensemble.add_input("witness", (WITNESSES, SAMPLES))
    ensemble.add_output("production", (SAMPLES,))
    ensemble.add_output("canary", (SAMPLES,))
    ensemble.add_step(
        net, version=1, input_map={"witness": "witness"}, output_map={"output__0": "production"}
    )
    ensemble.add_step(
        net, version=2, input_map={"witness": "witness"}, output_map={"output__0": "canary"}
    )
    path = ensemble.export_version()
    assert path == repo.path / "stream" / "1" and list(path.iterdir()) == []
    config = ModelRepository(repo.path)["stream"].config
    assert config.platform == "ensemble"
    steps = [
        (s.model_name, s.model_version, dict(s.input_map), dict(s.output_map))
        for s in config.ensemble_scheduling.step
    ]
    assert steps == [
        ("net", 1, {"witness": "witness"}, {"output__0": "production"}),
        ("net", 2, {"witness": "witness"}, {"output__0": "canary"}),
    ]
    # re-exporting (e.g. after re-pinning a step) rewrites the config and keeps version 1
    ensemble.config.ensemble_scheduling.step[1].model_version = 1
    assert ensemble.export_version() == path
    assert (
        ModelRepository(repo.path)["stream"].config.ensemble_scheduling.step[1].model_version == 1
    )


def test_ensemble_latest_version(streaming_repo) -> None:
    ensemble = streaming_repo.create_model("stream", Platform.ENSEMBLE)
    ensemble.add_step("net", input_map={"witness": "witness"}, output_map={"output__0": "noise"})
    assert ensemble.config.ensemble_scheduling.step[0].model_version == -1


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda e, net: e.add_step(
                net, version=5, input_map={"witness": "w"}, output_map={"output__0": "n"}
            ),
            ValueError,
            r"has versions \[1, 2\]; cannot pin version 5",
        ),
        (
            lambda e, net: e.add_step(net, input_map={"y": "w"}, output_map={"output__0": "n"}),
            ValueError,
            r"step maps unknown tensor\(s\) \['y'\]",
        ),
        (
            lambda e, net: e.add_step(
                net, version=0, input_map={"witness": "w"}, output_map={"output__0": "n"}
            ),
            ValueError,
            "positive integer or None",
        ),
        (
            lambda e, net: (
                e.add_input("w", (3, 64)),
                e.add_output("other", (64,)),
                e.add_step(net, input_map={"witness": "w"}, output_map={"output__0": "n"}),
                e.export_version(),
            ),
            ExportError,
            "ensemble output 'other' is produced by no step",
        ),
        (
            lambda e, net: (
                e.add_step(net, input_map={"witness": "missing"}, output_map={"output__0": "n"}),
                e.export_version(),
            ),
            ExportError,
            "reads tensor 'missing', which is neither an ensemble input",
        ),
        (lambda e, net: e.export_version(torch.nn.Identity()), ValueError, "takes no module"),
    ],
    ids=[
        "missing-version",
        "unknown-tensor",
        "version-0",
        "unproduced-output",
        "dangling-input",
        "module",
    ],
)
def test_ensemble_errors(streaming_repo, build, error, message) -> None:
    ensemble = streaming_repo.create_model("stream", Platform.ENSEMBLE)
    with pytest.raises(error, match=message):
        build(ensemble, streaming_repo["net"])
    assert not (streaming_repo.path / "stream").exists()


def test_steps_only_for_ensembles(streaming_repo) -> None:
    with pytest.raises(ValueError, match="only ensembles have steps"):
        streaming_repo["net"].add_step(
            "net", input_map={"witness": "a"}, output_map={"output__0": "b"}
        )


def test_parameters_and_instances(streaming_repo) -> None:
    net = streaming_repo["net"]
    net.set_parameters(
        {"channels": ["H1:GDS-CALIB_STRAIN", "H1:W"], "sample_rate": 4096.0, "kernel_length": 1}
    )
    net.set_instance_count(3)
    net.set_instance_count(2)
    net.write_config()
    reread = ModelRepository(streaming_repo.path)["net"]
    assert reread.parameters == {
        "channels": ["H1:GDS-CALIB_STRAIN", "H1:W"],
        "kernel_length": 1,
        "sample_rate": 4096.0,
    }
    assert [(g.count, g.kind) for g in reread.config.instance_group] == [
        (2, pb.ModelInstanceGroup.KIND_AUTO)
    ]
