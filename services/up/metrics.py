"""``deepclean up``'s own Prometheus metrics: restarts per service and which services run.

``deepclean_up_restarts_total{service}`` counts the restarts after an exit (the alert
``ServiceRestarting`` in ``deploy/prometheus/alerts.yml``), ``deepclean_up_service_running
{service}`` is 1 while the service's process runs. Served on 127.0.0.1:``metrics_port``.
"""

from __future__ import annotations

from prometheus_client import start_http_server

from deepclean.utils.metric_set import MetricSet


class UpMetrics:
    """The metrics in a registry of their own; :meth:`on_change` is the supervisor's callback."""

    def __init__(self) -> None:
        m = MetricSet("up")
        self.registry = m.registry
        self.restarts = m.counter(
            "restarts", "times deepclean up started a service again after it exited", ["service"]
        )
        self.running = m.gauge(
            "service_running",
            "1 while the service's process runs, 0 while it is down or waiting for its restart",
            ["service"],
        )
        self._counted: dict[str, int] = {}

    def on_change(self, service: str, is_running: bool, restarts: int) -> None:
        """A service started (``is_running``) or exited; ``restarts`` so far."""
        self.restarts.labels(service).inc(restarts - self._counted.get(service, 0))
        self._counted[service] = restarts
        self.running.labels(service).set(int(is_running))

    def serve(self, port: int) -> None:
        """``/metrics`` on 127.0.0.1:``port`` (a daemon thread)."""
        start_http_server(port, addr="127.0.0.1", registry=self.registry)
