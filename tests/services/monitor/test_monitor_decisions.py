"""The monitor service end to end on synthetic cleaned frames with exactly known ratios,
against a real HTTP stand-in for the exporter."""

import pytest

from deepclean.services.monitor.service import MonitorService
from deepclean.utils.monitoring.decision import Verdict
from deepclean.utils.products import StateBit

from .helpers import GOOD, GPS, FakeExporter, Running, Second, settings, version_entry


def verdicts(service):
    return [d.verdict for d in service.state.decisions]


def test_canary_better_than_production_is_promoted_with_the_token(tmp_path):
    with FakeExporter(version_entry(1), version_entry(2)) as exporter:
        service = MonitorService(settings(tmp_path, exporter.url), token="s3cret")
        with Running(service, tmp_path) as run:
            run.feed(GPS, 8 * 4 + 1, Second(production_scale=0.5, canary_scale=0.4))
        assert verdicts(service) == [Verdict.PASS, Verdict.PASS, Verdict.PROMOTE]
        last = service.state.decisions[-1]
        assert last.canary_ratio == pytest.approx(0.4, rel=1e-9)
        assert last.production_ratio == pytest.approx(0.5, rel=1e-9)
        assert "promoted" in last.reason
        ((headers, body),) = exporter.promotions()
        assert body["version"] == 2 and body["by"] == "monitor"
        assert body["evidence"]["canary_ratio"] == pytest.approx(0.4, rel=1e-9)
        assert body["evidence"]["passes_in_a_row"] == 3
        assert headers["Authorization"] == "Bearer s3cret"
        assert headers["Content-Type"] == "application/json"
        assert exporter.production["version"] == 2
        assert service.state.metrics.promotions._value.get() == 1


@pytest.mark.parametrize(
    "production_scale,canary_scale,reason",
    [
        (0.5, 0.52, "worse than production by more than 2.0%"),
        (0.5, 1.3, "canary/raw > max_ratio 1"),
    ],
    ids=["worse-than-production", "worse-than-raw"],
)
def test_worse_canary_is_rejected_and_never_checked_again(
    tmp_path, production_scale, canary_scale, reason
):
    with FakeExporter(version_entry(1), version_entry(2)) as exporter:
        service = MonitorService(settings(tmp_path, exporter.url), token=None)
        with Running(service, tmp_path) as run:
            run.feed(
                GPS, 8 * 6 + 1, Second(production_scale=production_scale, canary_scale=canary_scale)
            )
        assert verdicts(service) == [Verdict.FAIL, Verdict.FAIL, Verdict.REJECT]
        assert reason in service.state.decisions[-1].reason
        assert exporter.promotions() == []
        assert service.state.tracker.rejected == {2}
        assert service.state.snapshot()["canary"]["rejected"] == [2]


def test_untrained_production_counts_as_raw(tmp_path):
    with FakeExporter(version_entry(1, trained=False), version_entry(2)) as exporter:
        service = MonitorService(settings(tmp_path, exporter.url))
        with Running(service, tmp_path) as run:
            run.feed(GPS, 8 * 4 + 1, Second(production_scale=1.0, canary_scale=0.99))
        assert verdicts(service) == [Verdict.PASS, Verdict.PASS, Verdict.PROMOTE]
        assert service.state.decisions[-1].production_ratio is None


def test_unusable_seconds_skip_checks_without_counting(tmp_path):
    with FakeExporter(version_entry(1), version_entry(2)) as exporter:
        service = MonitorService(settings(tmp_path, exporter.url))
        good = Second(production_scale=0.5, canary_scale=0.4)
        with Running(service, tmp_path) as run:
            run.feed(GPS, 8, good)  # check 1 (segment [GPS, GPS + 8)): pass
            run.feed(
                GPS + 8, 8, Second(0.5, 0.4, state=GOOD | StateBit.TAPERED)
            )  # check 2: tapered
            run.feed(
                GPS + 16, 8, Second(0.5, 0.4, state=GOOD & ~StateBit.INPUT_READY)
            )  # check 3: not ready
            # check 4: 3 missing seconds leave runs of 1, 1, 1 and 2 s; only the last holds a
            # 2 s FFT: 2 of 8 s usable, below min_coverage 0.6
            run.feed(GPS + 24, 8, good, skip={GPS + 25, GPS + 27, GPS + 29})
            run.feed(GPS + 32, 8, Second(0.5, 0.4, canary=3))  # check 5: frames of another canary
            run.feed(GPS + 40, 16, good)  # checks 6, 7: pass, promote
        got = [(d.verdict, d.reason.split(": ")[-1]) for d in service.state.decisions]
        assert got == [
            (Verdict.PASS, "canary/raw <= 0.5100"),
            (Verdict.SKIP, "8 s tapered or zero-filled"),
            (Verdict.SKIP, "8 s not analysis-ready"),
            (Verdict.SKIP, "3 s missing"),
            (Verdict.SKIP, "8 s made by other versions than those compared"),
            (Verdict.PASS, "canary/raw <= 0.5100"),
            (Verdict.PROMOTE, got[-1][1]),
        ]
        assert service.state.decisions[-1].passes == 3


def test_nothing_checked_while_canary_is_production(tmp_path):
    with FakeExporter(version_entry(2), version_entry(2)) as exporter:
        service = MonitorService(settings(tmp_path, exporter.url))
        with Running(service, tmp_path) as run:
            run.feed(GPS, 8 * 3 + 1, Second(0.5, 0.5, production=2, canary=2))
        assert list(service.state.decisions) == []
        assert len(service.state.ratios) == 3  # ratios are still recorded for the page
        assert service.state.ratios[-1].production_ratio == pytest.approx(0.5)


def test_a_missing_second_costs_statistics_not_the_check(tmp_path):
    """Issue 22: a check over the seconds present (runs of >= 1 FFT covering min_coverage of the
    window) counts; the ratio over the runs is the exact scale of the synthetic canary."""
    with FakeExporter(version_entry(1), version_entry(2)) as exporter:
        service = MonitorService(settings(tmp_path, exporter.url))
        good = Second(production_scale=0.5, canary_scale=0.4)
        with Running(service, tmp_path) as run:
            run.feed(GPS, 8, good, skip={GPS + 4})  # runs of 4 and 3 s: 7 of 8 s
            run.feed(GPS + 8, 8, good, skip={GPS + 9, GPS + 14})  # 1, 4 and 1 s: 4 of 8 s
            # [16, 24) less 17: runs of 1 (too short for a 2 s FFT) and 6 s; [24, 32) less 30:
            # 6 and 1 s; 6 of 8 s each time
            run.feed(GPS + 16, 17, good, skip={GPS + 17, GPS + 30})
        got = [(d.verdict, d.reason) for d in service.state.decisions]
        assert [v for v, _ in got] == [Verdict.PASS, Verdict.SKIP, Verdict.PASS, Verdict.PROMOTE]
        assert got[1][1].endswith("(4 of 8 s usable, min_coverage 0.6): 2 s missing"), got[1]
        assert service.state.decisions[0].canary_ratio == pytest.approx(0.4, rel=1e-9)
