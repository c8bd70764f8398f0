"""Export torch modules into a Triton model repository (import name ``deepclean.utils.export``).

Contract:

* :class:`ModelRepository` is a directory of models; an existing one is read back from its
  ``config.pbtxt`` files. ``create_model(name, platform, force=False)`` raises ValueError
  if ``name`` exists (with ``force``: ``name_0``, ``name_1``, ...).
* :class:`Model` holds its ``config`` (a ``tritonclient.grpc.model_config_pb2.ModelConfig``,
  written with protobuf ``text_format``), its versions on disk, and
  ``export_version(module, input_shapes=..., ...)``, which exports the next version (or the
  one asked for) with the model's :class:`Platform` exporter, fills the config's inputs
  and outputs (names, dims, dtypes; dynamic where the shape says ``None``), verifies the
  artifact against the module (``export_status.json`` beside it) and returns the
  artifact's path. A failed export raises ExportError and leaves no version directory.
* Platforms: ``onnxruntime_onnx`` (``model.onnx``), ``pytorch_libtorch`` (``model.pt``),
  ``tensorrt_plan`` (``model.plan``; needs ``tensorrt``, else ExportError), ``ensemble``
  (config with steps pinned by ``model_version``, plus an empty version directory), and
  ``python`` (``model.py`` running the ``model.onnx`` beside it with onnxruntime, or any
  hand-written ``model.py`` via ``export_python``).
* Config edits stay in memory until an export or ``Model.write_config()``.

No network: loading models into a running Triton is the business of Triton clients.
"""

from deepclean.utils.export.config import (
    TensorSpec,
    get_parameters,
    read_config,
    set_parameters,
    write_config,
)
from deepclean.utils.export.exporters import ExportOptions
from deepclean.utils.export.model import Model
from deepclean.utils.export.platform import InstanceKind, OnnxExporter, Platform
from deepclean.utils.export.repository import ModelRepository
from deepclean.utils.export.verify import STATUS_FILENAME, Verification, VerificationError

__all__ = [
    "STATUS_FILENAME",
    "ExportOptions",
    "InstanceKind",
    "Model",
    "ModelRepository",
    "OnnxExporter",
    "Platform",
    "TensorSpec",
    "Verification",
    "VerificationError",
    "get_parameters",
    "read_config",
    "set_parameters",
    "write_config",
]
