"""Triton python-backend model ``aggregator-<role>``: overlapping window predictions in, one noise
stream out.

Runs inside the Triton server (copied to ``<repo>/aggregator-<role>/1/model.py``). Per sequence
(CORRID) it keeps a :class:`deepclean_streaming.OnlineAverager` and the index of the update it
expects next. Config parameters (strings): ``kernel_size``, ``stride``, ``batch_size``,
``num_updates`` and ``mode`` (``windowed`` or ``contiguous``).

Inputs: ``prediction`` (batch, kernel) float32 from DeepClean (contiguous mode: (phases, stretch)),
``update_index`` (1,) int64 from the snapshotter, and the sequence controls START, END, CORRID.
Output: ``noise`` (1, stride*batch) float32, lagging the input by ``stride*num_updates`` samples.
An update that arrives out of order is refused with an error instead of corrupting the averages.
"""

import json

import numpy as np
import triton_python_backend_utils as pb_utils
from deepclean_sequences import SequenceStates
from deepclean_streaming import OnlineAverager, StreamGeometry


class _Stream:
    def __init__(self, geometry):
        self.averager = OnlineAverager(geometry)
        self.next_index = 0


def _control(request, name):
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        raise ValueError(f"request has no sequence control {name}: send it with a sequence id")
    return tensor.as_numpy().reshape(-1)[0]


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.name = config["name"]
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        self.geometry = StreamGeometry(
            kernel_size=int(params["kernel_size"]),
            stride=int(params["stride"]),
            batch_size=int(params["batch_size"]),
            num_updates=int(params.get("num_updates", "1")),
            mode=params.get("mode", "windowed"),
        )
        slots = max(1, int(config.get("max_batch_size", 0)))
        self.streams = SequenceStates(lambda: _Stream(self.geometry), capacity=slots)

    def execute(self, requests):
        responses = []
        for request in requests:
            try:
                responses.append(self._one(request))
            except Exception as exc:  # one bad request must not fail the others of the batch
                responses.append(
                    pb_utils.InferenceResponse(error=pb_utils.TritonError(f"{self.name}: {exc}"))
                )
        return responses

    def _one(self, request):
        corrid = int(_control(request, "CORRID"))
        stream = self.streams.get(corrid, start=bool(_control(request, "START")))
        index = int(
            pb_utils.get_input_tensor_by_name(request, "update_index").as_numpy().reshape(-1)[0]
        )
        if index != stream.next_index:
            raise ValueError(
                f"sequence {corrid}: update {index} arrived but update {stream.next_index} "
                "was expected "
                "(updates lost or reordered on the way; keep one update of a stream in "
                "flight while "
                "versions change)"
            )
        prediction = pb_utils.get_input_tensor_by_name(request, "prediction").as_numpy()
        noise = stream.averager.update(np.asarray(prediction, dtype=np.float32))
        stream.next_index += 1
        if _control(request, "END"):
            self.streams.end(corrid)
        return pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("noise", noise[None])])
