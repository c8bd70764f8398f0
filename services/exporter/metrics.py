"""Prometheus metrics of one exporter app (a registry per app, so tests can build many)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

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
        r = CollectorRegistry()
        return cls(
            registry=r,
            production=Gauge(
                "deepclean_exporter_production_version",
                "DeepClean version on the production path",
                registry=r,
            ),
            canary=Gauge(
                "deepclean_exporter_canary_version",
                "DeepClean version on the canary path",
                registry=r,
            ),
            exports=Counter(
                "deepclean_exporter_exports",
                "export jobs finished, by result",
                ["result"],
                registry=r,
            ),
            export_seconds=Histogram(
                "deepclean_exporter_export_seconds",
                "export job duration (export, load, check)",
                buckets=DURATION_BUCKETS,
                registry=r,
            ),
            promotions=Counter(
                "deepclean_exporter_promotions", "promotions carried out", registry=r
            ),
            promotion_seconds=Histogram(
                "deepclean_exporter_promotion_seconds",
                "promotion duration",
                buckets=DURATION_BUCKETS,
                registry=r,
            ),
            requests=Counter(
                "deepclean_exporter_requests",
                "HTTP requests, by method and status",
                ["method", "status"],
                registry=r,
            ),
        )

    def set_versions(self, production: int, canary: int) -> None:
        self.production.set(production)
        self.canary.set(canary)

    def text(self) -> bytes:
        return generate_latest(self.registry)
