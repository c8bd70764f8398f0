"""The status page over a monitor that checked real (synthetic) frames, served by waitress."""

import io
import re

import numpy as np
import pytest
import requests
from PIL import Image

from deepclean.services.monitor.app import create_app
from deepclean.services.monitor.plots import ASD_SIZE, COLORS, LATENCY_SIZE, RATIO_SIZE
from deepclean.services.monitor.service import MonitorService
from deepclean.utils.http_server import HttpServer

from .helpers import GPS, FakeExporter, Running, Second, settings, version_entry

TAB = {
    "tab:blue": (31, 119, 180),
    "tab:orange": (255, 127, 14),
    "tab:green": (44, 160, 44),
    "0.45": (115, 115, 115),
}


def pixels_near(image, rgb, tolerance=12):
    array = np.asarray(image.convert("RGB")).astype(int)
    return int(np.count_nonzero(np.all(np.abs(array - np.array(rgb)) <= tolerance, axis=-1)))


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """A monitor that rejected canary 2 and is checking canary 3, its status page on a real
    server."""
    project = tmp_path_factory.mktemp("project")
    with FakeExporter(version_entry(1), version_entry(2)) as exporter:
        service = MonitorService(settings(project, exporter.url))
        with Running(service, project) as run:
            run.feed(GPS, 24, Second(0.5, 0.7))
            exporter.canary = version_entry(3)
            run.feed(GPS + 24, 16, Second(0.5, 0.45, canary=3))
        app = create_app(service.state, ifo="H1", refresh=7, max_ratio=1.0, history=3600)
        server = HttpServer(app, "127.0.0.1", 0, name="deepclean-monitor").start()
        try:
            yield server.url, service
        finally:
            server.stop()


def test_html_shows_versions_decisions_latency_and_plots(page):
    url, _ = page
    response = requests.get(url + "/", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    html = response.text
    assert '<meta http-equiv="refresh" content="7">' in html
    assert "<td>production</td><td>1</td><td>yes</td>" in html
    assert "<td>canary</td><td>3</td><td>yes</td>" in html
    assert f"{GPS - 2048} &ndash; {GPS - 1024} (1024 s)" in html  # training span
    assert "version 3: 2/3 passes" in html
    assert 'rejected: <span class="bad">2</span>' in html
    assert html.count('class="bad">reject<') == 1 and html.count('class="good">pass<') >= 2
    assert re.search(r"<td>1400000039</td><td>-?\d+\.\d\d</td>", html)  # latency of the last frame
    assert (
        f'src="plots/asd.png?gps={GPS + 40}" width="{ASD_SIZE[0]}" height="{ASD_SIZE[1]}"' in html
    )
    assert 'src="plots/ratios.png' in html
    assert f'src="plots/latency.png?gps={GPS + 39}" width="{LATENCY_SIZE[0]}"' in html


def test_asd_png_has_the_four_series(page):
    url, _ = page
    response = requests.get(url + "/plots/asd.png", timeout=10)
    assert response.headers["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    image.verify()
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.size == ASD_SIZE
    for name in ("raw", "production", "canary", "out_dq"):
        assert pixels_near(image, TAB[COLORS[name]]) > 200, name


def test_ratio_png_shows_history(page):
    url, service = page
    response = requests.get(url + "/plots/ratios.png", timeout=10)
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.size == RATIO_SIZE
    assert len(service.state.ratios) == 5
    for name in ("production", "canary", "out_dq"):
        assert pixels_near(image, TAB[COLORS[name]]) > 30, name


def test_latency_png_shows_every_frame(page):
    url, service = page
    response = requests.get(url + "/plots/latency.png", timeout=10)
    assert response.headers["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.size == LATENCY_SIZE
    assert len(service.state.latencies) == 40
    assert pixels_near(image, TAB["tab:blue"]) > 100  # the latencies
    assert pixels_near(image, (214, 39, 40)) > 30  # their median (tab:red)


def test_status_health_metrics(page):
    url, _ = page
    status = requests.get(url + "/status", timeout=10).json()
    assert status["versions"]["canary"]["version"] == 3
    assert [d["verdict"] for d in status["decisions"]] == ["pass", "pass", "reject", "fail", "fail"]
    assert status["canary"] == {
        "version": 3,
        "passes": 2,
        "failures": 0,
        "needed": {"passes": 3, "failures": 3},
        "rejected": [2],
    }
    assert status["ratios"][-1]["canary_ratio"] == pytest.approx(0.45)
    health = requests.get(url + "/health", timeout=10)
    assert health.status_code in (200, 503) and "loop_age_s" in health.json()
    metrics = requests.get(url + "/metrics", timeout=10).text
    assert 'deepclean_monitor_decisions_total{verdict="reject"} 1.0' in metrics
    line = next(
        row
        for row in metrics.splitlines()
        if row.startswith('deepclean_monitor_asd_ratio{series="canary"}')
    )
    assert float(line.split()[-1]) == pytest.approx(0.45)
    assert (
        "deepclean_monitor_carousel_files " in metrics
        and "deepclean_monitor_archive_lag_seconds " in metrics
    )
    assert "deepclean_monitor_rejected_canaries 1.0" in metrics
