"""A real local HTTP server recording POSTs (the exporter stand-in for notification tests)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Recorder:
    """Serves on 127.0.0.1:<port>; answers each POST with the next status of ``statuses``
    (the last one repeats) and records the JSON bodies."""

    def __init__(self, statuses=(200,)):
        self.statuses = list(statuses)
        self.bodies = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server API)
                length = int(self.headers.get("Content-Length", 0))
                recorder.bodies.append(json.loads(self.rfile.read(length) or b"null"))
                status = (
                    recorder.statuses.pop(0) if len(recorder.statuses) > 1 else recorder.statuses[0]
                )
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/models"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/models"
