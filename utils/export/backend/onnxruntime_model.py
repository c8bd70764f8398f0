"""Triton python-backend model that runs the ONNX file beside it with onnxruntime.

Written by ``deepclean.utils.export`` as ``<model>/<version>/model.py`` next to
``model.onnx``, for Triton servers without an onnxruntime backend (the CPU server). It
imports only numpy, onnxruntime and ``triton_python_backend_utils``.

Behaviour:

* inputs and outputs are those of the model config, matched by name; outputs are cast to
  the config's data types;
* with ``max_batch_size > 0`` the requests of one ``execute`` call whose inputs agree in
  every non-batch axis are concatenated along axis 0, run once, and split back; otherwise
  each request runs on its own;
* a request that fails gets an error response; the others still get their outputs;
* config ``parameters``: ``intra_op_num_threads`` (onnxruntime threads per instance,
  default: onnxruntime's choice).
"""

import json
import os

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils

MODEL_FILENAME = "model.onnx"


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.max_batch_size = int(config.get("max_batch_size", 0))
        path = os.path.join(args["model_repository"], str(args["model_version"]), MODEL_FILENAME)
        if not os.path.exists(path):
            path = os.path.join(os.path.dirname(os.path.abspath(__file__)), MODEL_FILENAME)
        options = ort.SessionOptions()
        threads = config.get("parameters", {}).get("intra_op_num_threads", {}).get("string_value")
        if threads:
            options.intra_op_num_threads = int(threads)
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.input_names = [tensor["name"] for tensor in config["input"]]
        self.outputs = [
            (tensor["name"], pb_utils.triton_string_to_numpy(tensor["data_type"]))
            for tensor in config["output"]
        ]
        session_inputs = {i.name for i in self.session.get_inputs()}
        session_outputs = {o.name for o in self.session.get_outputs()}
        missing = (set(self.input_names) - session_inputs) | (
            {n for n, _ in self.outputs} - session_outputs
        )
        if missing:
            raise ValueError(
                f"{path} has inputs {sorted(session_inputs)} and outputs "
                f"{sorted(session_outputs)}; "
                f"the model config names {sorted(missing)} which it lacks"
            )

    def _run(self, feeds):
        names = [name for name, _ in self.outputs]
        results = self.session.run(names, feeds)
        return [np.asarray(r, dtype=dtype) for r, (_, dtype) in zip(results, self.outputs)]

    def _feeds(self, request):
        feeds = {}
        for name in self.input_names:
            tensor = pb_utils.get_input_tensor_by_name(request, name)
            if tensor is None:
                raise ValueError(f"request lacks input {name!r}")
            feeds[name] = tensor.as_numpy()
        return feeds

    def _respond(self, arrays):
        tensors = [pb_utils.Tensor(name, array) for (name, _), array in zip(self.outputs, arrays)]
        return pb_utils.InferenceResponse(output_tensors=tensors)

    def _error(self, exc):
        return pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(str(exc)))

    def execute(self, requests):
        responses = [None] * len(requests)
        feeds = []
        for index, request in enumerate(requests):
            try:
                feeds.append((index, self._feeds(request)))
            except Exception as exc:  # noqa: BLE001 - reported to the client
                responses[index] = self._error(exc)
        if self.max_batch_size > 0 and len(feeds) > 1 and self._stackable([f for _, f in feeds]):
            sizes = [next(iter(f.values())).shape[0] for _, f in feeds]
            try:
                stacked = {n: np.concatenate([f[n] for _, f in feeds]) for n in self.input_names}
                results = self._run(stacked)
                bounds = np.cumsum(sizes)[:-1]
                parts = [np.split(r, bounds) for r in results]
                for position, (index, _) in enumerate(feeds):
                    responses[index] = self._respond([p[position] for p in parts])
                return responses
            except Exception:  # noqa: BLE001 - fall back to one run per request below
                pass
        for index, feed in feeds:
            try:
                responses[index] = self._respond(self._run(feed))
            except Exception as exc:  # noqa: BLE001 - reported to the client
                responses[index] = self._error(exc)
        return responses

    def _stackable(self, feeds):
        for name in self.input_names:
            shapes = {f[name].shape[1:] for f in feeds}
            dtypes = {f[name].dtype for f in feeds}
            if len(shapes) > 1 or len(dtypes) > 1:
                return False
        return True

    def finalize(self):
        self.session = None
