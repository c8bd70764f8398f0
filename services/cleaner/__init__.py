"""``deepclean cleaner``: live frames through Triton to cleaned frames, one per input second, never
stalled.

``settings`` (CleanerSettings), ``pipeline`` (per-second arithmetic, no I/O), ``link`` (Triton:
served configs, the gRPC stream, reconnection), ``output`` (cleaned frame contents and names),
``metrics`` (Prometheus ``/metrics`` and ``/health``), ``service`` (the loop), ``cli``.
"""
