"""Serving a WSGI app with waitress on a thread, with a clean stop (the exporter and the monitor use
it).

waitress's ``asyncore_loop_timeout`` is a whole number of seconds (it is converted with ``int``):
a fraction such as 0.2 becomes 0 and turns the serving loop into a busy poll that burns a
quarter of a core. A stop wakes the loop through waitress's trigger, so the 1 s timeout never
delays it.
"""

from __future__ import annotations

import logging
import threading

from waitress.server import create_server

logger = logging.getLogger(__name__)

LOOP_TIMEOUT_SECONDS = (
    1  #: waitress polls its sockets at least this often; a whole number (see above)
)


class HttpServer:
    """``app`` served by waitress on ``host:port`` (port 0: a free one, see :attr:`port`); a context
    manager."""

    def __init__(
        self,
        app,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        threads: int = 4,
        max_body_bytes: int = 1 << 20,
        name: str = "deepclean",
    ) -> None:
        # waitress refuses bodies far beyond the limit; Flask answers those just above it with a
        # JSON 413
        self.server = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            max_request_body_size=2 * max_body_bytes + 65536,
            asyncore_loop_timeout=LOOP_TIMEOUT_SECONDS,
            ident=name,
        )
        self.host = host
        self.port = int(self.server.effective_port)
        self._thread = threading.Thread(target=self.server.run, name=f"{name}-http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> HttpServer:
        self._thread.start()
        logger.info("serving HTTP on %s", self.url)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop listening, close open connections (in the serving thread), wait for it and the
        workers."""
        server = self.server

        def close_all() -> None:
            for channel in list(server._map.values()):
                if channel is not server and channel is not server.trigger:
                    channel.close()
            # the listening socket and the trigger: the loop's map is empty, run() returns
            server.close()

        if self._thread.is_alive():
            server.trigger.pull_trigger(close_all)
            self._thread.join(timeout)
        else:
            close_all()
        server.task_dispatcher.shutdown(timeout=timeout)

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
