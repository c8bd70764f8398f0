"""Stopping on a signal: the one place that installs the SIGINT/SIGTERM handlers of a service.

A long-running command wraps its run in :func:`stop_on_signals`; the handlers call
``on_signal(signum)`` (typically setting a stop event, which is safe from a handler) and are
restored when the block ends. Outside the main thread (a test running a service on a thread)
Python refuses to install handlers, so nothing is installed there: the caller stops the service
itself. Both signals are always installed explicitly: a process started in the background by a
shell inherits SIGINT ignored, and Python then never raises KeyboardInterrupt.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stop_on_signals(on_signal: Callable[[int], object]) -> Iterator[None]:
    """Call ``on_signal(signum)`` on SIGINT or SIGTERM while the block runs."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in STOP_SIGNALS:
            previous[signum] = signal.signal(signum, lambda signum, _frame: on_signal(signum))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
