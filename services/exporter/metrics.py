"""Prometheus metrics of one exporter app (a registry per app, so tests can build many)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from deepclean.utils.metric_set import MetricSet

DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)


@dataclass
class ExporterMetrics:
    registry: CollectorRegistry
    production: Gauge
    canary: Gauge
    exports: Counter
    export_seconds: Histogram
    promotions: Counter
    promotion_seconds: Histogram
    requests: Counter

    @classmethod
    def create(cls) -> ExporterMetrics:
        m = MetricSet("exporter")
        return cls(
            registry=m.registry,
            production=m.gauge("production_version", "DeepClean version on the production path"),
            canary=m.gauge("canary_version", "DeepClean version on the canary path"),
            exports=m.counter("exports", "export jobs finished, by result", ["result"]),
            export_seconds=m.histogram(
                "export_seconds", "export job duration (export, load, check)", DURATION_BUCKETS
            ),
            promotions=m.counter("promotions", "promotions carried out"),
            promotion_seconds=m.histogram(
                "promotion_seconds", "promotion duration", DURATION_BUCKETS
            ),
            requests=m.counter(
                "requests", "HTTP requests, by method and status", ["method", "status"]
            ),
        )

    def set_versions(self, production: int, canary: int) -> None:
        self.production.set(production)
        self.canary.set(canary)

    def text(self) -> bytes:
        return generate_latest(self.registry)
