"""The python-platform ``model.py`` (onnxruntime inside Triton's python backend), exercised
by importing it with a minimal stand-in for ``triton_python_backend_utils`` (conftest).

This checks the model's own logic (config parsing, batching across requests, outputs by
name, errors per request). Running it inside a real Triton server is done by the streaming
integration test (tests/utils/triton/), not here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from google.protobuf import json_format

from deepclean.utils.export import ExportOptions, ModelRepository, OnnxExporter, Platform

from .nets import SAMPLES, WITNESSES

# The legacy exporter keeps this file fast; model.py does not depend on the exporter.
FAST = ExportOptions(onnx_exporter=OnnxExporter.TORCHSCRIPT)


@pytest.fixture
def exported(tmp_path, small_net):
    def export(max_batch_size: int):
        model = ModelRepository(tmp_path).create_model(f"net{max_batch_size}", Platform.PYTHON)
        model.config.max_batch_size = max_batch_size
        lead = (None,) if max_batch_size else (2,)
        path = model.export_version(
            small_net,
            input_shapes={"witness": (*lead, WITNESSES, SAMPLES)},
            output_names=["noise"],
            options=FAST,
        )
        return model, path

    return export


def _instance(load_python_model, model, path, parameters=None):
    config = json_format.MessageToDict(model.config, preserving_proto_field_name=True)
    config.setdefault("parameters", {}).update(
        {k: {"string_value": v} for k, v in (parameters or {}).items()}
    )
    module = load_python_model(path)
    instance = module.TritonPythonModel()
    instance.initialize(
        {
            "model_config": json.dumps(config),
            "model_repository": str(model.path),
            "model_version": path.parent.name,
        }
    )
    return instance


def _expected(net, x):
    with torch.no_grad():
        return net(torch.from_numpy(x)).numpy()


def test_batches_requests_and_splits(exported, load_python_model, pb_utils, small_net) -> None:
    model, path = exported(8)
    instance = _instance(load_python_model, model, path, {"intra_op_num_threads": "1"})
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((n, WITNESSES, SAMPLES)).astype(np.float32) for n in (1, 3, 2)]
    responses = instance.execute([pb_utils.InferenceRequest({"witness": x}) for x in xs])
    assert len(responses) == 3
    for x, response in zip(xs, responses):
        assert response.error is None
        out = response.outputs()["noise"]
        assert out.shape == (x.shape[0], SAMPLES) and out.dtype == np.float32
        np.testing.assert_allclose(out, _expected(small_net, x), rtol=1e-5, atol=1e-5)
    instance.finalize()


def test_bad_request_gets_error_others_answered(
    exported, load_python_model, pb_utils, small_net
) -> None:
    model, path = exported(8)
    instance = _instance(load_python_model, model, path)
    good = np.ones((2, WITNESSES, SAMPLES), dtype=np.float32)
    wrong_shape = np.ones((1, WITNESSES + 1, SAMPLES), dtype=np.float32)
    responses = instance.execute(
        [
            pb_utils.InferenceRequest({"witness": good}),
            pb_utils.InferenceRequest({"witness": wrong_shape}),
            pb_utils.InferenceRequest({"other": good}),
        ]
    )
    np.testing.assert_allclose(
        responses[0].outputs()["noise"], _expected(small_net, good), rtol=1e-5, atol=1e-5
    )
    assert responses[1].error is not None and responses[1].output_tensors == []
    assert "lacks input 'witness'" in responses[2].error.message()


def test_without_batching_runs_each_request(
    exported, load_python_model, pb_utils, small_net
) -> None:
    model, path = exported(0)
    assert list(model.config.input[0].dims) == [2, WITNESSES, SAMPLES]
    instance = _instance(load_python_model, model, path)
    xs = [np.full((2, WITNESSES, SAMPLES), v, dtype=np.float32) for v in (0.5, -1.0)]
    responses = instance.execute([pb_utils.InferenceRequest({"witness": x}) for x in xs])
    for x, response in zip(xs, responses):
        np.testing.assert_allclose(
            response.outputs()["noise"], _expected(small_net, x), rtol=1e-5, atol=1e-5
        )


def test_config_must_match_onnx(exported, load_python_model) -> None:
    model, path = exported(8)
    model.config.output[0].name = "renamed"
    with pytest.raises(ValueError, match=r"names \['renamed'\] which it lacks"):
        _instance(load_python_model, model, path)
