"""Sources of the python-backend models, copied into a model repository by
``deepclean.utils.triton.ensemble``.

Contract: every file here runs inside the Triton server's own Python (numpy<2, no ``deepclean``
package). ``snapshotter.py`` and ``aggregator.py`` become ``<repo>/<model>/1/model.py``;
``sequences.py`` (the per-sequence states and ``SequenceModel``, the base both models' request
handling shares) is written beside them as ``deepclean_sequences.py`` and
:mod:`deepclean.utils.streaming` as ``deepclean_streaming.py`` (with
:mod:`deepclean.utils.stream_geometry`, which it imports, as ``deepclean_stream_geometry.py``;
the python backend puts the version folder on ``sys.path``), plus a placeholder file
``__pycache__``. They import only numpy, ``triton_python_backend_utils``, the standard library
and those copies. Only
``sequences`` is importable here (it is pure Python); never import the model files from the
project.
"""
