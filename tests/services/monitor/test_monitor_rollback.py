"""The monitor keeps judging production after a promotion and rolls it back through the
exporter after ``failures`` (3) checks in a row above ``max_ratio``; rejections and the
evidence reach the audit log and the status page (synthetic frames with exact ratios, a real
HTTP stand-in for the exporter; the real exporter and Triton: test_monitor_pipeline.py)."""

import json

import pytest

from deepclean.services.monitor.app import create_app
from deepclean.services.monitor.service import MonitorService
from deepclean.utils.audit import read_audit
from deepclean.utils.kill_switch import set_switch

from .helpers import GPS, FakeExporter, Running, Second, settings, version_entry

BAD = Second(production_scale=1.3, canary_scale=1.3, production=2, canary=2)
GOOD_AGAIN = Second(production_scale=0.5, canary_scale=0.5, production=2, canary=2)


def test_bad_production_is_rolled_back_after_the_failures(tmp_path):
    with FakeExporter(version_entry(2), version_entry(2), previous=version_entry(1)) as exporter:
        service = MonitorService(settings(tmp_path, exporter.url), token="s3cret")
        with Running(service, tmp_path) as run:
            run.feed(GPS, 8 * 2 + 1, BAD)  # two bad checks: not yet
            assert exporter.rollbacks() == []
            assert service.checker.production.status()["failures"] == 2
            run.feed(GPS + 17, 8, BAD)  # the third
            run.feed(GPS + 25, 8 * 3, Second(0.5, 0.5, production=1, canary=1))
        ((headers, body),) = exporter.rollbacks()
        assert headers["Authorization"] == "Bearer s3cret"
        assert body["production"] == 2 and body["by"] == "monitor"
        assert body["evidence"]["production_ratio"] == pytest.approx(1.3, rel=1e-9)
        assert body["evidence"]["failures_in_a_row"] == 3 and body["evidence"]["max_ratio"] == 1.0
        assert exporter.production["version"] == 1
        assert exporter.promotions() == []
        # the version rolled back to is judged from zero (its first segment mixes versions)
        assert service.checker.production.status() == {
            "production": 1,
            "failures": 0,
            "needed": 3,
            "max_ratio": 1.0,
            "last": service.checker.production.status()["last"],
        }


def test_a_good_check_resets_the_count_and_untrained_is_never_rolled_back(tmp_path):
    with FakeExporter(version_entry(2), version_entry(2), previous=version_entry(1)) as exporter:
        service = MonitorService(settings(tmp_path, exporter.url))
        with Running(service, tmp_path) as run:
            run.feed(GPS, 8 * 2, BAD)  # checks of [GPS, GPS + 8) and [GPS + 8, GPS + 16)
            run.feed(GPS + 16, 8, GOOD_AGAIN)
            run.feed(GPS + 24, 8 * 2, BAD)
        assert exporter.rollbacks() == []
        assert service.checker.production.status()["failures"] == 2
    untrained = version_entry(1, trained=False)
    with FakeExporter(untrained, untrained) as exporter:
        service = MonitorService(settings(tmp_path / "u", exporter.url))
        with Running(service, tmp_path / "u") as run:
            run.feed(GPS, 8 * 4 + 1, Second(1.3, 1.3, production=1, canary=1))
        assert exporter.rollbacks() == []


def test_no_rollback_while_cleaning_is_off(tmp_path):
    set_switch(tmp_path, "H1", enabled=False, reason="maintenance")
    with FakeExporter(version_entry(2), version_entry(2), previous=version_entry(1)) as exporter:
        service = MonitorService(settings(tmp_path, exporter.url))
        with Running(service, tmp_path) as run:
            run.feed(GPS, 8 * 4 + 1, BAD)
        assert exporter.rollbacks() == [] and exporter.production["version"] == 2
        assert service.checker.production.status()["failures"] == 0


def test_the_count_survives_a_restart_and_a_refusal_is_retried(tmp_path):
    with FakeExporter(version_entry(2), version_entry(2)) as exporter:  # nothing to go back to
        service = MonitorService(settings(tmp_path, exporter.url))
        with Running(service, tmp_path) as run:
            run.feed(GPS, 8 * 2 + 1, BAD)
        assert json.loads((tmp_path / "monitor" / "production_watch.json").read_text()) == {
            "production": 2,
            "failures": 2,
        }
        service = MonitorService(settings(tmp_path, exporter.url))
        with Running(service, tmp_path) as run:
            run.feed(GPS + 17, 8 * 2, BAD)  # third and fourth bad checks: refused (409) twice
        assert [body["production"] for _, body in exporter.rollbacks()] == [2, 2]
        assert exporter.production["version"] == 2


def test_rejection_is_audited_and_the_page_shows_the_log(tmp_path):
    with FakeExporter(version_entry(1), version_entry(2)) as exporter:
        service = MonitorService(settings(tmp_path, exporter.url))
        with Running(service, tmp_path) as run:
            run.feed(GPS, 8 * 3 + 1, Second(production_scale=0.5, canary_scale=1.3))
    (entry,) = read_audit(tmp_path)
    assert (entry.action, entry.who, entry.ifo) == ("reject", "monitor", "H1")
    assert entry.versions == {"version": 2, "production": 1}
    assert entry.evidence["canary_ratio"] == pytest.approx(1.3, rel=1e-9)
    assert entry.evidence["failures_in_a_row"] == 3
    assert "canary/raw > max_ratio 1" in entry.evidence["reason"]
    app = create_app(
        service.state,
        ifo="H1",
        project_dir=tmp_path,
        production_status=service.checker.production.status,
    )
    client = app.test_client()
    status = client.get("/status").json
    assert (
        status["audit"][0]["action"] == "reject" and status["audit"][0]["versions"]["version"] == 2
    )
    assert status["production_watch"]["production"] == 1
    html = client.get("/").data.decode()
    assert "<h2>Audit log (latest 1)</h2>" in html
    assert '<td class="bad">reject</td>' in html and "<td>monitor</td>" in html
    assert "production watch: version 1:" in html


def test_production_ratios_are_recorded_for_the_trainer(tmp_path):
    """Every usable check of trained production lands in production_ratios.json (atomically
    rewritten), which a restarted monitor continues and a new production version restarts."""
    record = tmp_path / "monitor" / "production_ratios.json"
    with FakeExporter(version_entry(2), version_entry(2), previous=version_entry(1)) as exporter:
        service = MonitorService(settings(tmp_path, exporter.url))
        with Running(service, tmp_path) as run:
            run.feed(GPS, 8 * 2, GOOD_AGAIN)  # checks ending at GPS + 8 and GPS + 16: ratio 0.5
        service = MonitorService(settings(tmp_path, exporter.url))
        with Running(service, tmp_path) as run:
            run.feed(GPS + 16, 8 + 1, Second(0.7, 0.7, production=2, canary=2))
        data = json.loads(record.read_text())
        assert (data["production"], data["count"]) == (2, 3)
        assert [c["gps"] for c in data["checks"]] == [GPS + 8, GPS + 16, GPS + 24]
        assert [c["ratio"] for c in data["checks"]] == pytest.approx([0.5, 0.5, 0.7], rel=1e-9)
        exporter.production = exporter.canary = version_entry(3)
        service = MonitorService(settings(tmp_path, exporter.url))
        with Running(service, tmp_path) as run:
            run.feed(GPS + 25, 8 * 2, Second(0.6, 0.6, production=3, canary=3))
        data = json.loads(record.read_text())
        assert (data["production"], data["count"]) == (3, 2)
        assert [c["gps"] for c in data["checks"]] == [GPS + 32, GPS + 40]
        # the check ending at GPS + 32 uses the seconds of version 3 only
        assert [c["ratio"] for c in data["checks"]] == pytest.approx([0.6, 0.6], rel=1e-9)
