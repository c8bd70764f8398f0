"""``deepclean triton``: a real Triton Inference Server over a model repository, in the foreground.

Contract: ``cli`` provides ``add_parser``/``run`` for the ``deepclean`` entry point; ``settings``
holds :class:`TritonSettings`. The server itself is run by :mod:`deepclean.utils.triton.server`
(its own venv from ``./run.sh setup``, 127.0.0.1 only, explicit model control, every model of
the repository loaded at start). Nothing else talks to the server here: clients use gRPC.
"""
