"""Shared library of the DeepClean pipeline (import name ``deepclean.utils``).

Contract: pure signal-processing and model code (filters, scalers, PSDs, windowing and
averaging arithmetic, the network) touches no files, network or clock; I/O lives in
separate modules (``frames`` for GWF files, ``export`` for model repositories, Triton
clients). Services in ``deepclean.services`` are thin loops composing these pieces.
"""
