"""ModelConfig helpers: dtypes, parameters, version policy, instance groups, pbtxt round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as pb

from deepclean.utils.errors import ExportError
from deepclean.utils.export import Platform
from deepclean.utils.export import config as cfg
from deepclean.utils.export.platform import InstanceKind


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        (np.float32, "TYPE_FP32"),
        (np.dtype("float64"), "TYPE_FP64"),
        (torch.float16, "TYPE_FP16"),
        (torch.int64, "TYPE_INT64"),
        ("FP32", "TYPE_FP32"),
        ("TYPE_INT32", "TYPE_INT32"),
        (bool, "TYPE_BOOL"),
    ],
    ids=[
        "np-float32",
        "np-dtype-float64",
        "torch-float16",
        "torch-int64",
        "name",
        "type-name",
        "bool",
    ],
)
def test_triton_dtype(dtype, expected: str) -> None:
    value = cfg.triton_dtype(dtype)
    assert pb.DataType.Name(value) == expected
    if not isinstance(dtype, str) and dtype is not torch.float16 and dtype is not torch.int64:
        assert cfg.numpy_dtype(value) == np.dtype(dtype)


@pytest.mark.parametrize(
    "dtype", [object, "complex64", "nonsense"], ids=["object", "complex", "nonsense"]
)
def test_triton_dtype_rejects(dtype) -> None:
    with pytest.raises((ValueError, TypeError)):
        cfg.triton_dtype(dtype)


@pytest.mark.parametrize(
    "value",
    [
        "H1",
        "1",
        '"quoted"',
        "",
        4096,
        4096.0,
        0.015625,
        True,
        ["H1:A", "H1:B"],
        {"start": 1, "end": 2},
        None,
    ],
    ids=[
        "str",
        "numeric-str",
        "quoted-str",
        "empty-str",
        "int",
        "float",
        "fraction",
        "bool",
        "list",
        "dict",
        "none",
    ],
)
def test_parameter_round_trip(value) -> None:
    config = cfg.set_parameters(pb.ModelConfig(name="m"), {"key": value})
    reread = text_format.Parse(cfg.config_text(config), pb.ModelConfig())
    assert cfg.get_parameters(reread) == {"key": value}
    assert type(cfg.get_parameters(reread)["key"]) is type(value)


def test_plain_strings_stay_readable() -> None:
    config = cfg.set_parameters(pb.ModelConfig(), {"ifo": "H1", "rate": 4096})
    assert config.parameters["ifo"].string_value == "H1"
    assert config.parameters["rate"].string_value == "4096"


def test_parameter_must_be_json() -> None:
    with pytest.raises(ValueError, match="JSON"):
        cfg.set_parameters(pb.ModelConfig(), {"key": object()})


def _full_config() -> pb.ModelConfig:
    config = cfg.new_config("deepclean", Platform.ONNX)
    config.max_batch_size = 8
    cfg.set_tensors(
        config,
        [cfg.TensorSpec.of("witness", (21, 4096), np.float32)],
        [cfg.TensorSpec.of("noise", (None,), np.float32)],
    )
    cfg.add_instance_group(config, "gpu", count=2, gpus=[0, 1])
    cfg.set_specific_versions(config, [3, 1, 3])
    cfg.set_parameters(config, {"channels": ["H1:GDS-CALIB_STRAIN", "H1:A"], "sample_rate": 4096.0})
    return config


def test_config_file_round_trip(tmp_path) -> None:
    config = _full_config()
    path = tmp_path / "config.pbtxt"
    cfg.write_config(config, path)
    text = path.read_text()
    assert (
        'platform: "onnxruntime_onnx"' in text and "kind: KIND_GPU" in text and "dims: -1" in text
    )
    reread = cfg.read_config(path)
    assert reread == config
    assert cfg.specific_versions(reread) == [1, 3]
    assert [t.describe() for t in cfg.outputs_of(reread)] == ["noise: TYPE_FP32 [-1]"]
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_read_config_names_bad_file(tmp_path) -> None:
    path = tmp_path / "config.pbtxt"
    path.write_text("name: 'x'\nnot_a_field: 3\n")
    with pytest.raises(ExportError, match="cannot read model config .*config.pbtxt"):
        cfg.read_config(path)


@pytest.mark.parametrize(
    ("config", "platform"),
    [
        (pb.ModelConfig(backend="python"), Platform.PYTHON),
        (pb.ModelConfig(platform="ensemble"), Platform.ENSEMBLE),
        (pb.ModelConfig(platform="pytorch_libtorch"), Platform.TORCHSCRIPT),
    ],
    ids=["python-backend", "ensemble", "torchscript"],
)
def test_platform_of_config(config, platform) -> None:
    assert Platform.of_config(config) is platform


def test_new_python_config_uses_backend() -> None:
    config = cfg.new_config("m", Platform.PYTHON)
    assert config.backend == "python" and config.platform == ""


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: Platform.parse("tensorflow_savedmodel"),
            "unknown platform 'tensorflow_savedmodel'; allowed: onnxruntime_onnx",
        ),
        (
            lambda: Platform.of_config(pb.ModelConfig(name="m", backend="openvino")),
            "uses backend 'openvino'",
        ),
        (lambda: cfg.add_instance_group(pb.ModelConfig(), "tpu"), "unknown instance kind 'tpu'"),
        (
            lambda: cfg.add_instance_group(pb.ModelConfig(), "gpu", count=0),
            "positive integer, got 0",
        ),
        (lambda: cfg.add_instance_group(pb.ModelConfig(), "cpu", gpus=[0]), "need kind 'gpu'"),
        (lambda: cfg.set_specific_versions(pb.ModelConfig(), []), "one or more positive integers"),
        (
            lambda: cfg.set_specific_versions(pb.ModelConfig(), [0, 1]),
            "one or more positive integers",
        ),
    ],
    ids=["platform", "backend", "kind", "count", "gpus-on-cpu", "no-versions", "version-0"],
)
def test_errors_name_the_value(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_instance_kind_values() -> None:
    config = pb.ModelConfig()
    for kind in InstanceKind:
        cfg.add_instance_group(config, kind.value.upper(), count=1)
    assert [pb.ModelInstanceGroup.Kind.Name(g.kind) for g in config.instance_group] == [
        "KIND_AUTO",
        "KIND_CPU",
        "KIND_GPU",
        "KIND_MODEL",
    ]
