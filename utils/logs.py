"""Logging setup for entry points: one line per event, UTC timestamps, the service name.

Library modules only call ``logging.getLogger(__name__)``; this module is used by
``main()`` functions alone (STYLE 12).
"""

import logging
import sys
import time

FORMAT = "%(asctime)s.%(msecs)03dZ %(levelname)-7s %(service)s %(name)s: %(message)s"


class _ServiceFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        return True


def configure_logging(service: str, level: str | int = "INFO") -> logging.Logger:
    """Send all log records to stderr, one line each, tagged with ``service``; return its logger."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter(FORMAT, datefmt="%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_ServiceFilter(service))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    return logging.getLogger(f"deepclean.{service}")
