"""The monitor finds every listed injection once, as ``deepclean validate`` measures it: a BNS
longer than a check's segment, a binary black hole, sine-Gaussians, one inside dropped seconds;
a restarted monitor keeps the list and measures none twice.

Real MonitorServices on real cleaned GWF frames (signals added to every strain-like series),
the carousel trimmed to 18 frames so most of the data is read back from the archive."""

import json
import logging
import re
from dataclasses import dataclass

import pytest

from deepclean.services.monitor.app import create_app
from deepclean.services.monitor.found import INJECTIONS_FILE, Status
from deepclean.services.monitor.service import MonitorService
from deepclean.services.validate.data import Data, read_cleaned, source_folders
from deepclean.services.validate.report import Method, build_report, data_span
from deepclean.utils.frames.gwf import Channel, write_frame
from deepclean.utils.frames.naming import FrameKind, frame_path
from deepclean.utils.injection_list import read_injections, row, write_injections
from deepclean.utils.products import CLEANED_RATE_HZ
from deepclean.utils.simulation.waveforms import Injection, InjectionKind, detector_signal

from . import helpers
from .helpers import GPS, IFO, FakeExporter, Running, settings, wait_for

KIND = InjectionKind
BNS = Injection(
    KIND.BNS, GPS + 70.0, mass1_msun=1.4, mass2_msun=1.4, distance_mpc=4.0, f_lower_hz=40.0
)
BBH = Injection(
    KIND.BBH, GPS + 130.3, mass1_msun=30.0, mass2_msun=25.0, distance_mpc=150.0, f_lower_hz=20.0
)
SG = Injection(KIND.SINE_GAUSSIAN, GPS + 180.5, frequency_hz=150.0, quality=9.0, hrss=2e-21)
DROPPED = Injection(KIND.SINE_GAUSSIAN, GPS + 230.5, frequency_hz=60.0, quality=9.0, hrss=2e-21)
LATER = Injection(KIND.SINE_GAUSSIAN, GPS + 290.5, frequency_hz=100.0, quality=9.0, hrss=2e-21)
OLD = Injection(KIND.SINE_GAUSSIAN, GPS - 300.5, frequency_hz=150.0, quality=9.0, hrss=2e-21)
ALL = (OLD, BNS, BBH, SG, DROPPED, LATER)  #: in GPS order
SKIP = set(range(GPS + 226, GPS + 236))  #: seconds the cleaner "dropped" (DROPPED's signal)
FIRST_RUN = 275  #: seconds fed before the restart (DROPPED's data ends at ~GPS + 265)
END = 335  #: seconds fed in all (LATER's data ends at ~GPS + 325)


@pytest.fixture(scope="module")
def signals():
    return [detector_signal(i, IFO, CLEANED_RATE_HZ) for i in ALL]


def with_signals(gps: int, signals) -> list[Channel]:
    add = sum(s.window(gps) for s in signals)
    return [
        Channel(c.name, c.data + add, c.sample_rate, c.t0) if c.data.dtype.kind == "f" else c
        for c in helpers.cleaned_channels(gps, helpers.Second())
    ]


def feed(run: Running, start: int, stop: int, signals) -> None:
    for gps in range(start, stop):
        if gps not in SKIP:
            path = frame_path(run.project, FrameKind.CLEANED, IFO, gps)
            write_frame(path, with_signals(gps, signals))
            run.settle(gps)


def measured(service: MonitorService, count: int) -> list[dict]:
    """Wait for the monitor to have measured ``count`` injections; its entries by GPS."""
    found = service.injections.measured
    wait_for(lambda: len(found.entries) >= count, 60, f"{count} injections measured")
    return sorted(found.entries.values(), key=lambda e: e["gps"])


class Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@dataclass
class Runs:
    """Two monitors one after the other over the same project; what they left."""

    rows: list[dict]  #: the injection list
    first: list[dict]  #: entries after the first run, by GPS
    restored: list[dict]  #: /status's injections of the restarted monitor before it ran
    final: list[dict]  #: entries after the second run, by GPS
    logged_after_restart: list[str]
    saved: list[dict]  #: injections.json after the first run
    page: str
    metrics: str
    project: object


@pytest.fixture(scope="module")
def runs(tmp_path_factory, signals) -> Runs:
    project = tmp_path_factory.mktemp("project")
    path = project / "data" / f"injections-{IFO}.json"
    write_injections(
        path, IFO, [{**row(i, detector_signal(i, IFO, 16384.0)), "optimal_snr": 30.0} for i in ALL]
    )
    log = logging.getLogger("deepclean.services.monitor.injections")
    lines, level = Lines(), log.level
    log.addHandler(lines)
    log.setLevel(logging.INFO)
    try:
        with FakeExporter(helpers.version_entry(1), helpers.version_entry(2)) as exporter:
            service = MonitorService(settings(project, exporter.url))
            with Running(service, project) as run:
                feed(run, GPS, GPS + FIRST_RUN, signals)
                first = measured(service, 5)
            saved = json.loads((project / "monitor" / INJECTIONS_FILE).read_text())
            lines.lines.clear()
            again = MonitorService(settings(project, exporter.url))
            restored = again.state.snapshot()["injections"]
            with Running(again, project) as run:
                feed(run, GPS + FIRST_RUN, GPS + END, signals)
                final = measured(again, 6)
                client = create_app(again.state, ifo=IFO).test_client()
                page = client.get("/").get_data(as_text=True)
                metrics = client.get("/metrics").get_data(as_text=True)
    finally:
        log.removeHandler(lines)
        log.setLevel(level)
    rows = read_injections(path)[1]
    return Runs(
        rows, first, restored, final, lines.lines, saved["injections"], page, metrics, project
    )


def test_every_listed_injection_is_measured_once(runs):
    bns = data_span(runs.rows[1], Method())
    assert bns[1] - bns[0] > 90  # the BNS needs far more data than a check's 8 s segment
    assert [(e["kind"], e["gps"]) for e in runs.final] == [(r["kind"], r["gps"]) for r in runs.rows]
    statuses = [e["status"] for e in runs.final]
    assert statuses == [Status.NOT_MEASURABLE, "ok", "ok", "ok", Status.NOT_MEASURABLE, "ok"]


def test_injections_whose_data_is_gone_are_not_measurable_with_the_reason(runs):
    old, dropped = runs.final[0], runs.final[4]
    assert old["snr"] == dropped["snr"] == {}
    # segment: the signal +- 2 s; the first cleaned frame is GPS
    assert old["reason"] == (
        f"its data (GPS {GPS - 303}-{GPS - 298}) is older than the cleaned frames "
        f"(the oldest kept is GPS {GPS})"
    )
    assert dropped["reason"] == (
        f"all of its segment GPS {GPS + 228}-{GPS + 233} is missing from the cleaned frames"
    )


def test_snrs_equal_validates_measurement_of_the_same_frames(runs):
    folders = source_folders(runs.project, IFO, None)  # carousel and archive
    data = Data(GPS, END, CLEANED_RATE_HZ, read_cleaned(folders, IFO, GPS, END))
    report = build_report(data, runs.rows, Method(), IFO)["injections"]
    # validate leaves out OLD (before the span); the rest, in the same order
    assert [(r["kind"], r["gps"]) for r in report] == [
        (e["kind"], e["gps"]) for e in runs.final[1:]
    ]
    assert {s["status"] for s in report[3]["series"].values()} == {"missing samples"}  # DROPPED
    for mine, theirs in [(runs.final[i + 1], report[i]) for i in (0, 1, 2, 4)]:
        assert mine["status"] == theirs["status"] == "ok"
        expected = {name: s["snr"] for name, s in theirs["series"].items()}
        assert mine["snr"] == pytest.approx(expected, rel=1e-6)
        snr = mine["snr"]  # noise 0.5 x raw in production and OUT_DQ, 0.4 x raw in the canary
        assert 8 < snr["raw"] < snr["production"] < snr["canary"]
        assert snr["out_dq"] == pytest.approx(snr["production"], rel=1e-9)


def test_a_restart_keeps_the_list_and_measures_nothing_twice(runs):
    assert sorted(runs.saved, key=lambda e: e["gps"]) == runs.first
    assert runs.restored == runs.first[::-1]  # shown at once, newest first
    assert runs.final[:5] == runs.first
    assert len(runs.logged_after_restart) == 1
    assert f"at GPS {LATER.gps:.3f} found" in runs.logged_after_restart[0]


def test_page_and_gauge_show_the_injections(runs):
    latest = runs.final[-1]["snr"]["raw"]
    assert "Injections found" in runs.page and f"{latest:.2f}" in runs.page
    assert "not measurable: all of its segment" in runs.page
    assert "4 found ok, 0 failed, 2 not measurable, 0 waiting" in runs.page
    gauge = re.search(r'deepclean_monitor_injection_snr\{series="raw"\} (\S+)', runs.metrics)
    assert float(gauge.group(1)) == pytest.approx(latest, rel=1e-12)
