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

import numpy as np
import triton_python_backend_utils as pb_utils
from deepclean_sequences import SequenceModel
from deepclean_streaming import Snapshotter, StreamGeometry


class _Stream:
    def __init__(self, num_channels, geometry):
        self.snapshotter = Snapshotter(num_channels, geometry)
        self.next_index = 0


class TritonPythonModel(SequenceModel):
    def initialize(self, args):
        super().initialize(args)
        self.num_channels = int(self.parameters["num_channels"])
        self.geometry = StreamGeometry.from_parameters(self.parameters)

    def new_state(self):
        return _Stream(self.num_channels, self.geometry)

    def answer(self, request, corrid, stream):
        update = pb_utils.get_input_tensor_by_name(request, "update").as_numpy()
        if update.ndim != 3 or update.shape[0] != 1:
            raise ValueError(f"update has shape {update.shape}, expected (1, channels, samples)")
        windows = stream.snapshotter.update(np.asarray(update[0], dtype=np.float32))
        index = np.array([stream.next_index], dtype=np.int64)
        stream.next_index += 1
        return pb_utils.InferenceResponse(
            output_tensors=[
                pb_utils.Tensor("windows", windows),
                pb_utils.Tensor("update_index", index),
            ]
        )
