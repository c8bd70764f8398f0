"""The cleaner's Prometheus metrics and its small HTTP server (``/metrics``, ``/health``).

Latency = time the cleaned frame was renamed into place - time the strain frame of that
second appeared (its file's modification time: the writer renames it into place). The stage
histogram splits it: ``input`` (frame appeared -> the frame that completes its look-ahead read
and validated: waiting for input), then the push that completed it: ``resample``, ``triton``,
``filter`` (band-pass, subtraction, OUT_DQ gates), and ``write``. The look-ahead gauges say what
the wait is made of: the witness resampler's ``reach``, the served stream's ``lag`` and the
``filter_lead``, which make ``delay`` whole frames.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from deepclean.utils.liveness import Liveness
from deepclean.utils.metric_set import MetricSet
from deepclean.utils.signal.outdq_bands import BandGate

LATENCY_BUCKETS = (
    0.25,
    0.5,
    0.75,
    1.0,
    1.05,
    1.1,
    1.15,
    1.2,
    1.25,
    1.3,
    1.4,
    1.5,
    1.75,
    2.0,
    2.25,
    2.5,
    2.75,
    3.0,
    3.5,
    4.0,
    5.0,
    7.5,
    10.0,
    20.0,
)


#: seconds, for the stages (milliseconds of compute up to the input's second of look-ahead)
STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5) + LATENCY_BUCKETS[2:]

#: seconds, for Triton's time per second of data
INFERENCE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0)


@dataclass
class CleanerMetrics:
    """Metrics of one cleaner, in a registry of their own (so tests can run several)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self._add_latency_metrics(self.registry)
        self._add_stream_metrics(self.registry)
        self.health: dict = {"status": "starting"}
        self.liveness = Liveness()  #: what /health judges besides the status (stalled writes)
        self.lock = threading.Lock()

    def _add_latency_metrics(self, r: CollectorRegistry) -> None:
        """Latency, per stage, look-ahead, delay and Triton time."""
        m = MetricSet("cleaner", r)
        self.latency = m.histogram(
            "latency_seconds",
            "cleaned frame renamed into place minus strain frame appearance",
            LATENCY_BUCKETS,
        )
        self.stage = m.histogram(
            "stage_seconds",
            "latency per stage: input (waiting for and reading frames), resample, triton, "
            "filter, write",
            STAGE_BUCKETS,
            ["stage"],
        )
        self.lookahead = m.gauge(
            "lookahead_seconds",
            "look-ahead behind each frame: witness resampler reach, served stream lag, filter lead",
            ["part"],
        )
        self.delay = m.gauge(
            "delay_frames", "whole frames a second waits for: ceil((reach + lag + lead) / 1 s)"
        )
        self.inference = m.histogram(
            "inference_seconds", "Triton time for one second of data", INFERENCE_BUCKETS
        )

    def _add_stream_metrics(self, r: CollectorRegistry) -> None:
        """Frames and seconds counted, Triton connection, newest GPS, versions, cleaning switch."""
        m = MetricSet("cleaner", r)
        self.frames = m.counter("frames_written", "cleaned frames written")
        self.raw_seconds = m.counter("raw_seconds", "frames whose OUT_DQ is raw strain throughout")
        self.cleaned_seconds = m.counter(
            "cleaned_seconds", "frames whose OUT_DQ is fully cleaned throughout"
        )
        self.dropped = m.counter("dropped_seconds", "input seconds dropped (no output frame)")
        self.triton_up = m.gauge("triton_connected", "1 while Triton answers")
        self.last_gps = m.gauge("last_gps", "GPS of the newest cleaned frame")
        self.versions = m.gauge("version", "DeepClean version in use", ["role"])
        self.unwritten = m.counter(
            "frames_not_written",
            "cleaned frames not written because the disk was full (ENOSPC/EDQUOT)",
        )
        self.cleaning_enabled = m.gauge(
            "cleaning_enabled",
            "1 while cleaning is on, 0 while an operator has turned it off (OUT_DQ = raw)",
        )
        self.band_cleaned = m.gauge(
            "outdq_band_cleaned_fraction",
            "per cleaning band, the fraction of its noise subtracted from OUT_DQ over the newest "
            "frame written (1: its OUT_DQ gate open, 0: raw)",
            ["band"],
        )
        self.band_ratio = m.gauge(
            "outdq_band_ratio",
            "per cleaning band, its OUT_DQ gate's ASD ratio (raw - band noise)/raw over the "
            "gate's buffer (NaN: no decision yet)",
            ["band"],
        )
        self._bands: tuple[str, ...] = ()

    def set_bands(self, bands: Sequence[BandGate]) -> None:
        """Each band's OUT_DQ gate over the newest frame written (bands no longer gated are
        dropped from the gauges)."""
        labels = tuple(b.label for b in bands)
        if labels != self._bands:
            self.band_cleaned.clear()
            self.band_ratio.clear()
            self._bands = labels
        for b in bands:
            self.band_cleaned.labels(b.label).set(b.fraction)
            self.band_ratio.labels(b.label).set(float("nan") if b.ratio is None else b.ratio)

    def set_health(self, **values: object) -> None:
        with self.lock:
            self.health.update(values)
            self.health["updated"] = time.time()

    def health_json(self) -> dict:
        """The health facts; ``status`` "stalled" and the ``problems`` when there are any."""
        with self.lock:
            health = dict(self.health)
        problems = self.liveness.problems()
        if problems:
            health.update(status="stalled", problems=problems)
        return health


class _Handler(BaseHTTPRequestHandler):
    metrics: CleanerMetrics

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            body, ctype, code = generate_latest(self.metrics.registry), CONTENT_TYPE_LATEST, 200
        elif path == "/health":
            health = self.metrics.health_json()
            code = 200 if health.get("status") in ("ok", "starting") else 503
            body, ctype = json.dumps(health).encode(), "application/json"
        else:
            body, ctype, code = (
                b'{"error": "not found; try /health or /metrics"}',
                "application/json",
                404,
            )
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(
        self, *args: object
    ) -> None:  # quiet: one line per cycle is the service's own log
        pass


class MetricsServer:
    """``/metrics`` and ``/health`` on ``host:port`` in a daemon thread (port 0: any free port)."""

    def __init__(self, metrics: CleanerMetrics, host: str = "127.0.0.1", port: int = 5002) -> None:
        handler = type("Handler", (_Handler,), {"metrics": metrics})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, name="cleaner-metrics", daemon=True
        )

    def start(self) -> MetricsServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
