"""Triton python-backend model ``snapshotter``: one update of W channels in, B overlapping windows
out.

Runs inside the Triton server (copied to ``<repo>/snapshotter/1/model.py``). Per sequence (CORRID)
it keeps a :class:`deepclean_streaming.Snapshotter` and counts updates. Config parameters
(strings): ``num_channels``, ``kernel_size``, ``stride``, ``batch_size``, ``num_updates`` (samples /
windows) and ``mode`` (``windowed`` or ``contiguous``, see ``deepclean_streaming.StreamMode``).

Inputs: ``update`` (1, W, stride*batch) float32, and the sequence controls START, END, CORRID.
Outputs: ``windows`` (batch, W, kernel) float32 (contiguous mode: (phases, W, stretch)),
``update_index`` (1,) int64 counting updates of the sequence from 0, so the aggregators (and
clients) can check that none was lost or reordered.
"""

import json

import numpy as np
import triton_python_backend_utils as pb_utils
from deepclean_sequences import SequenceStates
from deepclean_streaming import Snapshotter, StreamGeometry


class _Stream:
    def __init__(self, num_channels, geometry):
        self.snapshotter = Snapshotter(num_channels, geometry)
        self.next_index = 0


def _control(request, name):
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        raise ValueError(f"request has no sequence control {name}: send it with a sequence id")
    return tensor.as_numpy().reshape(-1)[0]


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        self.num_channels = int(params["num_channels"])
        self.geometry = StreamGeometry(
            kernel_size=int(params["kernel_size"]),
            stride=int(params["stride"]),
            batch_size=int(params["batch_size"]),
            num_updates=int(params.get("num_updates", "1")),
            mode=params.get("mode", "windowed"),
        )
        slots = max(1, int(config.get("max_batch_size", 0)))
        self.streams = SequenceStates(
            lambda: _Stream(self.num_channels, self.geometry), capacity=slots
        )

    def execute(self, requests):
        responses = []
        for request in requests:
            try:
                responses.append(self._one(request))
            except Exception as exc:  # one bad request must not fail the others of the batch
                responses.append(
                    pb_utils.InferenceResponse(error=pb_utils.TritonError(f"snapshotter: {exc}"))
                )
        return responses

    def _one(self, request):
        corrid = int(_control(request, "CORRID"))
        stream = self.streams.get(corrid, start=bool(_control(request, "START")))
        update = pb_utils.get_input_tensor_by_name(request, "update").as_numpy()
        if update.ndim != 3 or update.shape[0] != 1:
            raise ValueError(f"update has shape {update.shape}, expected (1, channels, samples)")
        windows = stream.snapshotter.update(np.asarray(update[0], dtype=np.float32))
        index = np.array([stream.next_index], dtype=np.int64)
        stream.next_index += 1
        if _control(request, "END"):
            self.streams.end(corrid)
        return pb_utils.InferenceResponse(
            output_tensors=[
                pb_utils.Tensor("windows", windows),
                pb_utils.Tensor("update_index", index),
            ]
        )
