"""Model versions: next/explicit versions, re-export from the config, one config for all
versions, version policy, and that a failed export leaves nothing behind.

TorchScript exports are used because they are fast; versioning does not depend on the platform.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepclean.utils.errors import ExportError
from deepclean.utils.export import ModelRepository, Platform
from deepclean.utils.export.config import specific_versions

SHAPES = {"x": (None, 3, 64)}


@pytest.fixture
def model(tmp_path):
    model = ModelRepository(tmp_path).create_model("net", Platform.TORCHSCRIPT)
    model.config.max_batch_size = 4
    return model


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_versions_default_to_next(model, small_net) -> None:
    assert model.versions == [] and model.next_version == 1
    assert model.export_version(small_net, input_shapes=SHAPES).parent.name == "1"
    assert model.export_version(small_net).parent.name == "2"  # shapes and names from the config
    assert model.export_version(small_net, version=7).parent.name == "7"
    assert model.export_version(small_net).parent.name == "8"
    assert model.versions == [1, 2, 7, 8]
    model.remove_version(7)
    assert model.versions == [1, 2, 8] and model.next_version == 9


@pytest.mark.parametrize(
    ("version", "error", "message"),
    [
        (1, ExportError, "already has version 1"),
        (0, ValueError, "positive integer or None"),
        (-1, ValueError, "positive integer or None"),
    ],
    ids=["existing", "zero", "latest-magic"],
)
def test_bad_versions(model, small_net, version, error, message) -> None:
    model.export_version(small_net, input_shapes=SHAPES)
    with pytest.raises(error, match=message):
        model.export_version(small_net, version=version)
    assert model.versions == [1]


def test_all_versions_share_one_config(model, small_net, tmp_path) -> None:
    model.export_version(small_net, input_shapes=SHAPES)
    before = _tree(tmp_path)
    with pytest.raises(
        ExportError,
        match=r"versions \[1\] have inputs \[x: TYPE_FP32 \[3, 64\]\].*\[x: TYPE_FP32 \[3, 128\]\]",
    ):
        model.export_version(small_net, input_shapes={"x": (None, 3, 128)})
    assert _tree(tmp_path) == before


class _Failing(torch.nn.Module):
    def forward(self, x):
        if torch.jit.is_tracing():
            raise RuntimeError("cannot trace this")
        return x.sum(1)


def test_failed_export_leaves_nothing(model, small_net, tmp_path) -> None:
    model.export_version(small_net, input_shapes=SHAPES)
    config_before = (model.path / "config.pbtxt").read_text()
    before = _tree(tmp_path)
    with pytest.raises(
        ExportError, match="exporting net version 2 as pytorch_libtorch failed: cannot trace this"
    ):
        model.export_version(_Failing())
    assert _tree(tmp_path) == before  # no version dir, no hidden temporary dir
    assert (model.path / "config.pbtxt").read_text() == config_before


def test_failed_first_export_leaves_no_model_dir(tmp_path) -> None:
    model = ModelRepository(tmp_path).create_model("net", Platform.TORCHSCRIPT)
    with pytest.raises(ExportError):
        model.export_version(_Failing(), input_shapes={"x": (2, 3)})
    assert list(tmp_path.iterdir()) == []


def test_keep_versions(model, small_net) -> None:
    for _ in range(3):
        model.export_version(small_net, input_shapes=SHAPES)
    model.keep_versions([3, 1])
    assert specific_versions(model.config) == [1, 3]
    with pytest.raises(
        ValueError, match=r"has versions \[1, 2, 3\]; cannot keep missing version\(s\) \[5\]"
    ):
        model.keep_versions([1, 5])
    assert specific_versions(model.config) == [1, 3]
    model.write_config()
    assert specific_versions(ModelRepository(model.repository.path)["net"].config) == [1, 3]


def test_module_modes_restored(model, small_net) -> None:
    """Exported in eval mode; afterwards every submodule is back in its own mode."""
    wrapper = torch.nn.Sequential(small_net)  # training, around a net in eval mode
    model.export_version(wrapper, input_shapes=SHAPES)
    assert wrapper.training and not any(m.training for m in small_net.modules())


@pytest.mark.parametrize(
    ("shapes", "message"),
    [
        ({"x": (2, 3, 64)}, "axis 0 is the batch axis and must be None"),
        ({}, "input_shapes is empty"),
        (None, "has no inputs in its config; give input_shapes"),
    ],
    ids=["static-batch", "empty", "missing"],
)
def test_bad_input_shapes(model, small_net, shapes, message) -> None:
    with pytest.raises(ValueError, match=message):
        model.export_version(small_net, input_shapes=shapes)


def test_batch_axis_must_lead_outputs(model) -> None:
    class Transposed(torch.nn.Module):
        def forward(self, x):
            return x.transpose(0, 1)

    with pytest.raises(
        ExportError,
        match="output 'output__0' has shape \\(3, 2, 64\\) for a batch of 2; with max_batch_size 4",
    ):
        model.export_version(Transposed(), input_shapes=SHAPES)


def test_variable_axis_needs_examples(model, small_net) -> None:
    with pytest.raises(ExportError, match="input 'x' has variable axis 2.*give example_inputs"):
        model.export_version(small_net, input_shapes={"x": (None, 3, None)})
    x = np.random.default_rng(0).standard_normal((2, 3, 32)).astype(np.float32)
    model.export_version(small_net, input_shapes={"x": (None, 3, None)}, example_inputs={"x": x})
    assert list(model.config.input[0].dims) == [3, -1]
