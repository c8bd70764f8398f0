"""While cleaning is switched off the monitor neither promotes nor rolls back; back on, it does.

Same synthetic frames with known ratios as ``test_monitor_decisions.py`` (a canary that would
be promoted after 3 passes), against the real HTTP stand-in for the exporter."""

import requests

from deepclean.services.monitor.app import create_app
from deepclean.services.monitor.service import MonitorService
from deepclean.utils.http_server import HttpServer
from deepclean.utils.kill_switch import set_switch
from deepclean.utils.monitoring.decision import Verdict

from .helpers import GPS, IFO, FakeExporter, Running, Second, settings, version_entry


def test_no_promotion_while_cleaning_is_off(tmp_path):
    set_switch(tmp_path, "H1", enabled=False, reason="operator test")
    with FakeExporter(version_entry(1), version_entry(2)) as exporter:
        service = MonitorService(settings(tmp_path, exporter.url), token="s3cret")
        with Running(service, tmp_path) as run:
            run.feed(GPS, 8 * 4 + 1, Second(production_scale=0.5, canary_scale=0.4))
            decisions = list(service.state.decisions)
            assert [d.verdict for d in decisions] == [Verdict.SKIP] * 4
            assert all(
                "cleaning off" in d.reason and "operator test" in d.reason for d in decisions
            )
            assert exporter.promotions() == []
            app = create_app(service.state, ifo=IFO, switch=service.checker.switch.state)
            with HttpServer(app) as server:  # the status page says so, in red
                page = requests.get(f"{server.url}/", timeout=10).text
                assert "cleaning off by " in page and "operator test" in page
                status = requests.get(f"{server.url}/status", timeout=10).json()
                assert status["cleaning"]["enabled"] is False
            set_switch(tmp_path, "H1", enabled=True, reason="back on")
            run.feed(GPS + 33, 8 * 3, Second(production_scale=0.5, canary_scale=0.4))
        verdicts = [d.verdict for d in service.state.decisions]
        assert verdicts == [Verdict.SKIP] * 4 + [Verdict.PASS, Verdict.PASS, Verdict.PROMOTE]
        assert [(body["version"], body["by"]) for _, body in exporter.promotions()] == [
            (2, "monitor")
        ]
