"""The trainer's Prometheus metrics, served on ``host:metrics_port`` when that is set.

``deepclean_trainer_runs_total`` counts the training runs started and
``deepclean_trainer_early_retrains_total`` those started before ``retrain_cadence`` because the
monitor measured production degrading (:mod:`.evidence`).
"""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

from deepclean.utils.metric_set import MetricSet

logger = logging.getLogger(__name__)


class TrainerMetrics:
    """The metrics in a registry of their own; :meth:`serve` starts ``/metrics``."""

    def __init__(self) -> None:
        m = MetricSet("trainer")
        self.registry = m.registry
        self.runs = m.counter("runs", "training runs started")
        self.early_retrains = m.counter(
            "early_retrains",
            "training runs started before retrain_cadence on the monitor's evidence that "
            "production degraded",
        )
        self._server = None

    def serve(self, host: str, port: int) -> int:
        """``/metrics`` on ``host:port`` (0: a free port) in a daemon thread; the port."""
        self._server, _ = start_http_server(port, addr=host, registry=self.registry)
        port = self._server.server_port
        logger.info("metrics on http://%s:%d/metrics", host, port)
        return port

    def stop(self) -> None:
        """Stop serving (nothing when not served)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
