"""The status page: a Flask app factory over a :class:`MonitorState` (served by waitress).

Routes: ``GET /`` (HTML an operator leaves open; reloads itself every ``refresh`` s),
``GET /status`` (the same facts as JSON), ``GET /health`` (200 while the monitor loop is
alive, 503 when it stalled), ``GET /metrics`` (Prometheus), ``GET /plots/asd.png`` (latest
ASDs, made by the checker every monitor period) and ``GET /plots/ratios.png`` (ratio
history, drawn on request and cached until a new ratio arrives). Read-only: nothing here
changes state, so no token is needed.
"""

from __future__ import annotations

import time

from flask import Flask, Response, jsonify, render_template_string
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from deepclean.services.monitor.plots import ASD_SIZE, RATIO_SIZE, ratio_png
from deepclean.services.monitor.state import MonitorState

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{{ refresh }}">
<title>DeepClean monitor {{ ifo }}</title>
<style>
 body { font-family: system-ui, sans-serif; margin: 1.2em; color: #222; max-width: 1200px; }
 h1 { font-size: 1.4em; margin-bottom: .2em } h2 { font-size: 1.1em; margin: 1.1em 0 .4em }
 table { border-collapse: collapse; font-size: .9em } td, th { border: 1px solid #ccc; padding: .2em .6em; text-align: left }
 th { background: #f0f0f0 } .bad { color: #b00020; font-weight: bold } .good { color: #1b5e20; font-weight: bold }
 .muted { color: #777 } .grid { display: flex; gap: 2em; flex-wrap: wrap }
</style></head><body>
<h1>DeepClean monitor &mdash; {{ ifo }}</h1>
<div class="muted">latest cleaned frame GPS {{ s.ifo_time.last_gps if s.ifo_time.last_gps is not none else "none yet" }}
 &middot; page generated {{ now }} UTC &middot; reloads every {{ refresh }} s
 &middot; <a href="status">/status</a> &middot; <a href="metrics">/metrics</a></div>
{% if s.exporter_error %}<p class="bad">exporter: {{ s.exporter_error }}</p>{% endif %}
<h2>Model versions</h2>
{% if s.versions %}
<table><tr><th>role</th><th>version</th><th>trained</th><th>training span (GPS)</th><th>valid loss</th><th>in-band ratio (training)</th><th>bands (Hz)</th></tr>
{% for role in ("production", "canary") %}{% set v = s.versions[role] %}
<tr><td>{{ role }}</td><td>{{ v.version }}</td><td>{{ "yes" if v.trained else "no" }}</td>
<td>{% if v.span %}{{ v.span.start }} &ndash; {{ v.span.start + v.span.duration }} ({{ v.span.duration }} s){% else %}&mdash;{% endif %}</td>
<td>{{ "%.4f"|format(v.valid_loss) if v.valid_loss is not none else "&mdash;"|safe }}</td>
<td>{{ "%.3f"|format(v.in_band_ratio) if v.in_band_ratio is not none else "&mdash;"|safe }}</td>
<td>{{ v.bands|join(", ") if v.bands else "&mdash;"|safe }}</td></tr>
{% endfor %}</table>
{% else %}<p class="muted">versions not known yet (exporter not reached)</p>{% endif %}
{% if s.served %}<p class="muted">served by Triton: production {{ s.served.production }}, canary {{ s.served.canary }}</p>{% endif %}
<p>canary check: {% if s.canary.version is not none %}version {{ s.canary.version }}: {{ s.canary.passes }}/{{ s.canary.needed.passes }} passes,
 {{ s.canary.failures }}/{{ s.canary.needed.failures }} failures in a row{% else %}<span class="muted">no canary under test</span>{% endif %}
 &middot; rejected: {% if s.canary.rejected %}<span class="bad">{{ s.canary.rejected|join(", ") }}</span>{% else %}none{% endif %}
 &middot; pass: canary/raw &le; {{ s.thresholds.max_ratio }} and &le; production &times; (1 + {{ s.thresholds.tolerance }})</p>
<h2>Latest ASDs around the band</h2>
{% if s.plots_gps is not none %}<img src="plots/asd.png?gps={{ s.plots_gps }}" width="{{ asd_size[0] }}" height="{{ asd_size[1] }}" alt="ASD of raw, production, canary and OUT_DQ">
{% else %}<p class="muted">no ASD yet (waiting for a full segment of cleaned data)</p>{% endif %}
<h2>In-band ASD ratio, last {{ (history / 60)|round|int }} min</h2>
<img src="plots/ratios.png?n={{ s.ratios|length }}" width="{{ ratio_size[0] }}" height="{{ ratio_size[1] }}" alt="ASD ratio history">
<div class="grid"><div>
<h2>Last decisions</h2>
<table><tr><th>GPS</th><th>canary</th><th>production</th><th>verdict</th><th>canary/raw</th><th>production/raw</th><th>why</th></tr>
{% for d in s.decisions[:12] %}<tr><td>{{ d.gps }}</td><td>{{ d.canary }}</td><td>{{ d.production }}</td>
<td class="{{ 'good' if d.verdict in ('promote', 'pass') else ('bad' if d.verdict in ('reject', 'fail') else 'muted') }}">{{ d.verdict }}</td>
<td>{{ "%.4f"|format(d.canary_ratio) if d.canary_ratio is not none else "" }}</td>
<td>{{ "%.4f"|format(d.production_ratio) if d.production_ratio is not none else "" }}</td><td>{{ d.reason }}</td></tr>
{% else %}<tr><td colspan="7" class="muted">none yet</td></tr>{% endfor %}</table>
</div><div>
<h2>Latency of the last frames</h2>
<table><tr><th>GPS</th><th>latency (s)</th></tr>
{% for l in s.latency[:10] %}<tr><td>{{ l.gps }}</td><td>{{ "%.2f"|format(l.seconds) }}</td></tr>
{% else %}<tr><td colspan="2" class="muted">no frames yet</td></tr>{% endfor %}</table>
<p class="muted">file written minus end of its data</p>
<h2>Carousel and archive</h2>
<table><tr><td>cleaned frames</td><td>{{ s.carousel.files }} (max seen {{ s.carousel.max_seen }})</td></tr>
<tr><td>archive files</td><td>{{ s.archive.files }}</td></tr>
<tr><td>archived up to GPS</td><td>{{ s.archive.end if s.archive.end is not none else "&mdash;"|safe }}</td></tr>
<tr><td>archive lag (s)</td><td>{{ s.archive.lag if s.archive.lag is not none else "&mdash;"|safe }}</td></tr>
<tr><td>last archive file</td><td>{{ s.archive.last or "&mdash;"|safe }}</td></tr></table>
{% if s.unreadable_frames %}<p class="bad">unreadable frames: {{ s.unreadable_frames|join("; ") }}</p>{% endif %}
</div></div>
</body></html>
"""


def create_app(
    state: MonitorState,
    *,
    ifo: str,
    refresh: int = 10,
    max_ratio: float = 1.0,
    history: float = 3600.0,
    stale_after: float = 30.0,
) -> Flask:
    """The status page over ``state``."""
    app = Flask(__name__)
    cache: dict[str, object] = {}

    @app.get("/")
    def index() -> str:
        return render_template_string(
            PAGE,
            s=state.snapshot(),
            ifo=ifo,
            refresh=refresh,
            history=history,
            now=time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            asd_size=ASD_SIZE,
            ratio_size=RATIO_SIZE,
        )

    @app.get("/status")
    def status() -> Response:
        return jsonify(state.snapshot())

    @app.get("/health")
    def health() -> tuple[Response, int]:
        age = time.time() - state.heartbeat
        ok = age < stale_after
        return jsonify(
            {
                "status": "ok" if ok else "stalled",
                "loop_age_s": round(age, 1),
                "last_gps": state.last_gps,
            }
        ), 200 if ok else 503

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(state.metrics.registry), mimetype=CONTENT_TYPE_LATEST)

    @app.get("/plots/asd.png")
    def asd_plot() -> Response:
        with state.lock:
            png = state.plots.get("asd")
        if png is None:
            return Response("no ASD yet\n", status=404, mimetype="text/plain")
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

    return app
