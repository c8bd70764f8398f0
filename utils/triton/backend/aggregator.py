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

import numpy as np
import triton_python_backend_utils as pb_utils
from deepclean_sequences import SequenceModel
from deepclean_streaming import OnlineAverager, StreamGeometry


class _Stream:
    def __init__(self, geometry):
        self.averager = OnlineAverager(geometry)
        self.next_index = 0


class TritonPythonModel(SequenceModel):
    def initialize(self, args):
        super().initialize(args)
        self.geometry = StreamGeometry.from_parameters(self.parameters)

    def new_state(self):
        return _Stream(self.geometry)

    def answer(self, request, corrid, stream):
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
        return pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("noise", noise[None])])
