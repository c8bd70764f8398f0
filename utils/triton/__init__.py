"""A real Triton Inference Server for DeepClean, and the streaming models it serves.

Contract:

* ``server``: find the Triton server's own environment (``$DEEPCLEAN_TRITON_VENV``, else
  ``<repo>/.triton/venv``, made by ``./run.sh setup``), lay out the ``tritonserver`` tree
  shipped in its ``nvidia-pytriton`` wheel, and run it as a child process bound to
  127.0.0.1 with explicit model control (:class:`~deepclean.utils.triton.server.TritonServer`).
* ``ensemble``: write the python-backend ``snapshotter`` and ``aggregator-<role>`` models and
  the ``deepclean-stream`` ensemble into a model repository (with
  :class:`deepclean.utils.export.ModelRepository`); ``configs`` builds their protobufs;
  ``names`` holds the model/tensor names and :class:`~deepclean.utils.triton.names.Role`.
* ``versions``: read and change the DeepClean versions the ensemble uses (canary load,
  promotion) on a live server without losing or repeating an update of any stream.
* ``client``: a gRPC streaming client that sends one update per request with a sequence id
  and returns the production and canary noise per update, in order.
* ``backend/``: the ``model.py`` sources of the python-backend models. They run inside the
  server's Python (numpy<2, no ``deepclean`` package), so they import only numpy,
  ``triton_python_backend_utils`` and ``deepclean_streaming`` -- a copy of
  :mod:`deepclean.utils.streaming` (and of :mod:`deepclean.utils.stream_geometry`, which it
  imports) written beside them in every model version. Never
  import them from this package.
"""
