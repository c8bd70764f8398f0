"""Sources of python-backend ``model.py`` files written by the export library.

Contract: each file here is copied verbatim as ``<model>/<version>/model.py`` and runs
inside the Triton server's own Python (numpy<2, onnxruntime, ``triton_python_backend_utils``;
no ``deepclean`` package). Never import them from this package; unit tests import them
with a stand-in for ``triton_python_backend_utils``.

* ``onnxruntime_model.py``: runs the ``model.onnx`` beside it with onnxruntime
  (the :attr:`~deepclean.utils.export.platform.Platform.PYTHON` export of a torch module).
"""
