"""The monitor's BNS range: recorded per check, on /status, /metrics and the page, and a gate
on promotion (a canary that wins in band but loses range elsewhere is not promoted)."""

import json

import numpy as np
import pytest
from scipy import signal

from deepclean.services.monitor.app import create_app
from deepclean.services.monitor.service import MonitorService
from deepclean.utils.frames.gwf import Channel, write_frame
from deepclean.utils.frames.naming import FrameKind, frame_path
from deepclean.utils.monitoring.decision import Verdict
from deepclean.utils.products import CLEANED_RATE_HZ, Product

from .helpers import (
    GPS,
    IFO,
    FakeExporter,
    Running,
    Second,
    cleaned_channels,
    settings,
    version_entry,
)

SOS = signal.butter(8, [20.0, 50.0], btype="bandpass", fs=CLEANED_RATE_HZ, output="sos")


def broadband_worse(gps: int, second: Second) -> list[Channel]:
    """Canary = 0.4 x raw in band, plus noise at 20-50 Hz (where, for white noise, the
    range is made)."""
    channels = cleaned_channels(gps, second)
    rng = np.random.default_rng([99, gps])
    extra = signal.sosfilt(SOS, rng.standard_normal(int(CLEANED_RATE_HZ))) * 3e-21
    canary = Product.CANARY.channel(IFO)
    return [
        Channel(c.name, c.data + extra, c.sample_rate, c.t0) if c.name == canary else c
        for c in channels
    ]


def feed(run: Running, start: int, count: int, make) -> None:
    for gps in range(start, start + count):
        write_frame(frame_path(run.project, FrameKind.CLEANED, IFO, gps), make(gps, Second()))
        run.settle(gps)


def test_ranges_are_recorded_and_shown(tmp_path):
    with FakeExporter(version_entry(1), version_entry(2)) as exporter:
        service = MonitorService(settings(tmp_path, exporter.url))
        with Running(service, tmp_path) as run:
            feed(run, GPS, 8 * 2 + 1, cleaned_channels)
        snap = service.state.snapshot()
        assert len(snap["ranges"]) == 2
        last = snap["ranges"][-1]
        # canary = 0.4 raw, production = 0.5 raw everywhere: ranges scale as 1 / amplitude,
        # up to the cosmological correction (a few % between 70 and 175 Mpc)
        assert last["canary"] == pytest.approx(last["raw"] / 0.4, rel=0.03)
        assert last["production"] == pytest.approx(last["raw"] / 0.5, rel=0.03)
        assert last["raw"] < last["production"] < last["canary"]
        assert service.state.decisions[-1].ranges_mpc == pytest.approx(
            {k: last[k] for k in ("raw", "production", "canary", "out_dq")}
        )
        assert "BNS range raw" in service.state.decisions[-1].describe()
        client = create_app(service.state, ifo=IFO).test_client()
        metrics = client.get("/metrics").get_data(as_text=True)
        assert 'deepclean_monitor_bns_range_mpc{series="canary"}' in metrics
        page = client.get("/").get_data(as_text=True)
        assert "BNS inspiral range" in page and f"{last['raw']:.2f}" in page
        png = client.get("/plots/range.png")
        assert png.status_code == 200 and png.data[:4] == b"\x89PNG"
        saved = json.loads((tmp_path / "monitor" / "ranges.json").read_text())
        assert saved == snap["ranges"]
        # a restarted monitor shows its history
        again = MonitorService(settings(tmp_path, exporter.url))
        assert again.state.snapshot()["ranges"] == snap["ranges"]


def test_canary_better_in_band_but_with_less_range_is_not_promoted(tmp_path):
    with FakeExporter(version_entry(1), version_entry(2)) as exporter:
        service = MonitorService(settings(tmp_path, exporter.url))
        with Running(service, tmp_path) as run:
            feed(run, GPS, 8 * 3 + 1, broadband_worse)
        decisions = service.state.decisions
        assert [d.verdict for d in decisions] == [Verdict.FAIL, Verdict.FAIL, Verdict.REJECT]
        assert all(d.canary_ratio < d.production_ratio for d in decisions)  # in band: better
        assert "canary BNS range" in decisions[-1].reason
        assert exporter.promotions() == []
