"""Small I/O helpers at the monitor's edges: which versions Triton serves, GPS from Unix time,
and waitress serving the status page on a thread with a clean stop."""

from __future__ import annotations

import logging
import threading
import time

from waitress.server import create_server

from deepclean.utils.triton.names import ENSEMBLE, Role, prediction_tensor

logger = logging.getLogger(__name__)


def unix_to_gps(unix: float) -> float:
    """GPS seconds of the Unix time ``unix`` (leap seconds from LAL's table)."""
    import lal

    return float(lal.UTCToGPS(time.gmtime(unix))) + unix % 1.0


def served_versions(triton_url: str, timeout: float = 1.0) -> dict[str, int] | None:
    """``{"production": N, "canary": M}`` pinned in the served ensemble, or None if Triton
    does not answer within ``timeout`` s (the status page then says nothing about it). Like
    ``utils/triton/versions.served_versions``, with one bounded request: a gRPC client without
    a deadline keeps retrying an unreachable server for ~20 s."""
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    try:
        client = grpcclient.InferenceServerClient(triton_url)
        try:
            config = client.get_model_config(ENSEMBLE, as_json=True, client_timeout=timeout)["config"]
        finally:
            client.close()
    except (InferenceServerException, OSError, ValueError) as exc:
        logger.debug("Triton %s did not say which versions it serves: %s", triton_url, exc)
        return None
    pins = {}
    for step in config.get("ensemble_scheduling", {}).get("step", []):
        for role in Role:
            if prediction_tensor(role) in step.get("output_map", {}).values():
                pins[role.value] = int(step.get("model_version", -1))
    return pins if len(pins) == len(Role) else None


class StatusServer:
    """``app`` served by waitress on ``host:port`` from a daemon thread (port 0: a free one)."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, threads: int = 4) -> None:
        self.server = create_server(app, host=host, port=port, threads=threads, asyncore_loop_timeout=0.2,
                                    ident="deepclean-monitor")
        self.host = host
        self.port = int(self.server.effective_port)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="monitor-http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "StatusServer":
        self._thread.start()
        logger.info("status page on %s", self.url)
        return self

    def _serve(self) -> None:
        """waitress's loop, one poll at a time, so sockets are closed by this thread only."""
        server = self.server
        try:
            while not self._stopping.is_set():
                server.asyncore.loop(timeout=server.adj.asyncore_loop_timeout, map=server._map, count=1)
        finally:
            for channel in list(server._map.values()):
                if channel is server:
                    continue  # closed below; its handle_close only logs "unhandled close event"
                try:
                    channel.handle_close()
                except Exception:  # noqa: BLE001 - closing anyway
                    pass
            server.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop listening, close open connections, wait for the serving thread and the workers."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        else:
            self.server.close()
        self.server.task_dispatcher.shutdown(timeout=timeout)
