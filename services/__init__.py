"""The DeepClean services and the ``deepclean`` command line (import name ``deepclean.services``).

One sub-package per service (``simulate``, ``trainer``, ``exporter``, ``cleaner``,
``monitor``), each with its typed settings and its target in the repository's ``Dockerfile``;
``cli`` dispatches the ``deepclean <subcommand>`` entry point. Services share only
directories and HTTP/gRPC.
"""
