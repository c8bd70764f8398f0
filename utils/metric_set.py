"""A service's Prometheus metrics, declared one per line in a registry of their own.

Every service (cleaner, monitor, exporter, ``deepclean up``) keeps its metrics in its own
``CollectorRegistry``, so tests can run several services in one process. :class:`MetricSet`
binds that registry and the service's name prefix once: ``MetricSet("cleaner").counter(
"frames_written", ...)`` is ``deepclean_cleaner_frames_written`` (prometheus_client's
``namespace`` and ``subsystem``; a counter is exposed with the ``_total`` suffix).
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

NAMESPACE = "deepclean"


class MetricSet:
    """Metrics named ``deepclean_<subsystem>_<name>`` in ``registry`` (a new one by default)."""

    def __init__(self, subsystem: str, registry: CollectorRegistry | None = None) -> None:
        self.subsystem = subsystem
        self.registry = CollectorRegistry() if registry is None else registry

    def _names(self) -> dict:
        return {"namespace": NAMESPACE, "subsystem": self.subsystem, "registry": self.registry}

    def counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        return Counter(name, doc, labels, **self._names())

    def gauge(self, name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(name, doc, labels, **self._names())

    def histogram(
        self, name: str, doc: str, buckets: Sequence[float], labels: Sequence[str] = ()
    ) -> Histogram:
        return Histogram(name, doc, labels, buckets=buckets, **self._names())
