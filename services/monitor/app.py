"""The status page: a Flask app factory over a :class:`MonitorState` (served by waitress).

Routes: ``GET /`` (HTML an operator leaves open; reloads itself every ``refresh`` s),
``GET /status`` (the same facts as JSON), ``GET /health`` (200 while the monitor loop is
alive and the checker keeps up, 503 with the problems when the loop stalled, the checker
thread died or cleaned frames arrive but no check finishes within ``check_deadline``),
``GET /metrics`` (Prometheus), ``GET /plots/asd.png`` (latest ASDs, made by the checker
every monitor period), ``GET /plots/ratios.png`` (ratio history, drawn on request and
cached until a new ratio arrives) and ``GET /plots/latency.png`` (each frame's latency over
the recent frames, cached until a new frame arrives). Read-only: nothing here changes state,
so no token is needed. The page and ``/status`` also show the production watch (rollback
after ``failures`` bad checks) and the latest entries of ``PROJECT_DIR/audit.jsonl``. The
page's Jinja template is ``page.html`` beside this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from importlib.resources import files
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template_string
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from deepclean.services.monitor.plots import (
    ASD_SIZE,
    LATENCY_SIZE,
    RATIO_SIZE,
    latency_png,
    ratio_png,
)
from deepclean.services.monitor.ranges import RANGE_SIZE, range_png
from deepclean.services.monitor.state import MonitorState
from deepclean.utils.audit import latest_audit
from deepclean.utils.kill_switch import SwitchState
from deepclean.utils.liveness import Liveness

AUDIT_ROWS = 12  #: audit entries on the page and in /status

PAGE = (files("deepclean.services.monitor") / "page.html").read_text(encoding="utf-8")


def create_app(
    state: MonitorState,
    *,
    ifo: str,
    refresh: int = 10,
    max_ratio: float = 1.0,
    history: float = 3600.0,
    stale_after: float = 30.0,
    liveness: Liveness | None = None,
    project_dir: Path | None = None,
    production_status: Callable[[], dict[str, Any]] | None = None,
    switch: Callable[[], SwitchState] | None = None,
) -> Flask:
    """The status page over ``state``; ``project_dir`` holds the audit log shown,
    ``production_status`` describes the production watch."""
    app = Flask(__name__)

    def extras() -> dict[str, Any]:
        audit = latest_audit(project_dir, AUDIT_ROWS) if project_dir is not None else []
        return {
            "audit": [asdict(e) for e in audit],
            "production_watch": production_status() if production_status else None,
        }

    @app.get("/")
    def index() -> str:
        more = extras()
        return render_template_string(
            PAGE,
            s=state.snapshot(),
            audit=more["audit"],
            production=more["production_watch"],
            cleaning=None if switch is None else switch(),
            ifo=ifo,
            refresh=refresh,
            history=history,
            now=time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            asd_size=ASD_SIZE,
            ratio_size=RATIO_SIZE,
            range_size=RANGE_SIZE,
            latency_size=LATENCY_SIZE,
        )

    @app.get("/status")
    def status() -> Response:
        snapshot = {**state.snapshot(), **extras()}
        if switch is not None:  # the kill switch
            snapshot["cleaning"] = asdict(switch())
        return jsonify(snapshot)

    _add_health_routes(app, state, liveness, stale_after)
    _add_plot_routes(app, state, max_ratio, history)
    return app


def _add_health_routes(
    app: Flask, state: MonitorState, liveness: Liveness | None, stale_after: float
) -> None:
    """GET /health (503 naming what stalled) and /metrics."""

    @app.get("/health")
    def health() -> tuple[Response, int]:
        age = time.time() - state.heartbeat
        problems = [] if liveness is None else liveness.problems()
        if age >= stale_after:
            problems.insert(
                0, f"monitor loop: no cycle for {age:.0f} s (deadline {stale_after:g} s)"
            )
        ok = not problems
        body = {"status": "ok" if ok else "stalled", "loop_age_s": round(age, 1)}
        body["last_gps"] = state.last_gps
        if problems:
            body["problems"] = problems
        return jsonify(body), 200 if ok else 503

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(state.metrics.registry), mimetype=CONTENT_TYPE_LATEST)


def _add_plot_routes(app: Flask, state: MonitorState, max_ratio: float, history: float) -> None:
    """GET /plots/{asd,range,ratios,latency}.png (the ratio and latency plots cached until their
    data change)."""
    cache: dict[str, object] = {}

    @app.get("/plots/asd.png")
    def asd_plot() -> Response:
        with state.lock:
            png = state.plots.get("asd")
        if png is None:
            return Response("no ASD yet\n", status=404, mimetype="text/plain")
        return Response(png, mimetype="image/png", headers={"Cache-Control": "no-store"})

    @app.get("/plots/range.png")
    def range_plot() -> Response:
        snap = state.snapshot()
        png = range_png(snap["ranges"], snap["ifo_time"]["last_gps"], history)
        return Response(png, mimetype="image/png", headers={"Cache-Control": "no-store"})

    @app.get("/plots/ratios.png")
    def ratio_plot() -> Response:
        snap = state.snapshot()
        key = (
            len(snap["ratios"]),
            snap["ratios"][-1]["gps"] if snap["ratios"] else None,
            snap["ifo_time"]["last_gps"],
        )
        if cache.get("key") != key:
            cache["png"] = ratio_png(
                snap["ratios"], snap["ifo_time"]["last_gps"], max_ratio, history
            )
            cache["key"] = key
        return Response(cache["png"], mimetype="image/png", headers={"Cache-Control": "no-store"})

    latency_cache: dict = {}

    @app.get("/plots/latency.png")
    def latency_plot() -> Response:
        with state.lock:
            points = list(state.latencies)
        key = (len(points), points[-1] if points else None)
        if latency_cache.get("key") != key:
            latency_cache["png"], latency_cache["key"] = latency_png(points), key
        png = latency_cache["png"]
        return Response(png, mimetype="image/png", headers={"Cache-Control": "no-store"})
