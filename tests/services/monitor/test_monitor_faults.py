"""Bad input: an exporter answering 500 or down, version info without bands (training
metadata missing), a corrupt cleaned frame. Each is logged and the monitor keeps going."""

import logging

from deepclean.services.monitor.exporter_client import ExporterClient
from deepclean.services.monitor.service import MonitorService
from deepclean.utils.monitoring.decision import Verdict

from .helpers import GPS, FakeExporter, Running, Second, settings, version_entry


def closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_promotion_retried_through_500s(tmp_path, caplog):
    # versions of check 3 answered, then /promote fails 3 times (retries 2: one request fails), then
    # works
    with FakeExporter(version_entry(1), version_entry(2)) as exporter:
        service = MonitorService(settings(tmp_path, exporter.url))
        with Running(service, tmp_path) as run, caplog.at_level(logging.WARNING):
            run.feed(GPS, 8 * 2, Second(0.5, 0.4))
            exporter.statuses = [
                200,
                500,
                500,
                500,
            ]  # GET ok, then POST x3 (1 try + 2 retries) fail
            run.feed(GPS + 16, 8, Second(0.5, 0.4))
            third = service.state.decisions[-1]
            assert third.verdict is Verdict.PROMOTE and "promotion request failed" in third.reason
            assert exporter.production["version"] == 1
            run.feed(GPS + 24, 8, Second(0.5, 0.4))  # the next check promotes
        assert "promoted" in service.state.decisions[-1].reason
        assert exporter.production["version"] == 2
        assert len(exporter.promotions()) == 4
        assert "HTTP 500" in caplog.text and "retrying in" in caplog.text


def test_exporter_down_is_logged_not_fatal(tmp_path, caplog):
    service = MonitorService(settings(tmp_path, closed_port_url(), exporter_retries=1))
    with Running(service, tmp_path) as run, caplog.at_level(logging.WARNING):
        run.feed(GPS, 8 * 3, Second(0.5, 0.4))
        assert service.state.snapshot()["exporter_error"].startswith("GET http://127.0.0.1:")
    assert list(service.state.decisions) == []  # nothing known to decide on
    assert len(service.state.ratios) == 3  # the page still shows ratios
    assert "ConnectionError" in caplog.text and "failed after 2 attempt(s)" in caplog.text
    assert service.state.metrics.exporter_up._value.get() == 0


def test_exporter_going_down_mid_canary_skips_then_resumes(tmp_path):
    exporter = FakeExporter(version_entry(1), version_entry(2))
    with exporter:
        service = MonitorService(settings(tmp_path, exporter.url, exporter_retries=0))
        with Running(service, tmp_path) as run:
            run.feed(GPS, 8, Second(0.5, 0.4))
            exporter.statuses = [503]
            run.feed(GPS + 8, 8, Second(0.5, 0.4))
            run.feed(GPS + 16, 16, Second(0.5, 0.4))
    assert [d.verdict for d in service.state.decisions] == [
        Verdict.PASS,
        Verdict.SKIP,
        Verdict.PASS,
        Verdict.PROMOTE,
    ]
    assert service.state.decisions[1].reason == "exporter unreachable"


def test_missing_bands_fall_back_to_configured_band(tmp_path, caplog):
    with FakeExporter(version_entry(1), version_entry(2, bands=None)) as exporter:
        service = MonitorService(
            settings(tmp_path, exporter.url, freq_low=[55.0], freq_high=[65.0])
        )
        with Running(service, tmp_path) as run, caplog.at_level(logging.WARNING):
            run.feed(GPS, 8 * 3, Second(0.5, 0.4))
    assert [d.verdict for d in service.state.decisions] == [
        Verdict.PASS,
        Verdict.PASS,
        Verdict.PROMOTE,
    ]
    assert (
        "version 2 has no bands in its version info (training metadata missing?); "
        "using the configured band(s) [(55.0, 65.0)] Hz" in caplog.text
    )
    assert caplog.text.count("has no bands") == 1


def test_versions_answer_without_version_is_an_error_not_a_crash(tmp_path, caplog):
    with FakeExporter({"trained": True}, version_entry(2)) as exporter:
        client = ExporterClient(exporter.url, retries=0)
        with caplog.at_level(logging.ERROR):
            assert client.versions() is None
    assert (
        "production is {'trained': True}, expected an object with an integer 'version'"
        in caplog.text
    )


def test_corrupt_frame_counts_as_missing(tmp_path, caplog):
    with FakeExporter(version_entry(1), version_entry(2)) as exporter:
        # every second needed (min_coverage 1), so the unreadable one shows as a skipped check;
        # test_monitor_decisions.py covers checks over the seconds left
        service = MonitorService(settings(tmp_path, exporter.url, min_coverage=1.0))
        with Running(service, tmp_path) as run, caplog.at_level(logging.WARNING):
            run.feed(GPS, 8 * 2, Second(0.5, 0.4), corrupt={GPS + 11})
            run.feed(GPS + 16, 8 * 3, Second(0.5, 0.4))
    verdicts = [d.verdict for d in service.state.decisions]
    assert verdicts == [Verdict.PASS, Verdict.SKIP, Verdict.PASS, Verdict.PROMOTE]
    assert service.state.decisions[1].reason == "GPS 1400000008-1400000016: 1 s unreadable"
    assert "unreadable cleaned frame, second 1400000011 counts as missing" in caplog.text
    assert service.state.metrics.bad_frames._value.get() == 1
