"""Exporting trained DeepClean weights into the Triton model repository.

Contract: ``export_cli`` is ``deepclean export-model`` (one export from the command line);
``export`` holds the steps it runs (load and check weights against the channel list, export
DeepClean as a new version, write the streaming models and the ``deepclean-stream``
ensemble), all-or-nothing on the repository. The exporter service (an HTTP app) builds on
the same steps.
"""
