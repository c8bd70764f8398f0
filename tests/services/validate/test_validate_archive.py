"""``deepclean validate`` over a live project's folders: the monitor's archive and the carousel.

One-second cleaned frames with every channel the cleaner writes are made from real simulated
frames (PRODUCTION and OUT_DQ = raw, passing the signals through; CANARY = raw - 5 % of the
injected truth), then archived by the monitor's own :class:`Archive` (32 s spans aligned to
GPS multiples, float32 strain as by default, second ``GPS + 45`` missing: a gap that splits a
span into two files); the last 8 s stay in the carousel only. ``validate --project-dir`` must
join archive and carousel, read every product, and find each injection as from raw strain:
the binary black hole straddles the archive files ``GPS + 4..32`` and ``GPS + 32..45``.
"""

import json

import numpy as np
import pytest

from deepclean.services.monitor.archive import Archive
from deepclean.services.offline.clean import cleaned_frame_name
from deepclean.utils.channels import parse_channels
from deepclean.utils.frames.gwf import Channel, write_frame
from deepclean.utils.frames.span import read_span
from deepclean.utils.products import CLEANED_RATE_HZ, FLAG_RATE_HZ, Flag, Product
from tests.services.trainer.sim_helpers import GPS, IFO, run_cli, simulate
from tests.services.validate.helpers import SPAN_FLAGS, validate_argv

from .test_validate_cli import DURATION, INJECT, START

CANARY_EATS = 0.05  #: fraction of the signal the canary removes
GAP = GPS + 45  #: a second the cleaner never wrote
CAROUSEL_FROM = GPS + 72  #: seconds from here on are not archived yet


def _second(gps, raw, truth, reference=False):
    """The channels of one cleaned second (products from raw strain and the injected truth)."""
    n = int(CLEANED_RATE_HZ)
    i = (gps - START) * n
    r, h = raw[i : i + n], truth[i : i + n]
    products = {
        Product.PRODUCTION: r - h if reference else r,
        Product.OUT_DQ: r - h if reference else r,
        Product.CANARY: r - h if reference else r - CANARY_EATS * h,
    }
    channels = [Channel(p.channel(IFO), x, CLEANED_RATE_HZ, gps) for p, x in products.items()]
    if reference:  # clean-offline layout: products only
        return channels
    flags = {Flag.INPUT_STATE: 3, Flag.STATE: 1, Flag.PRODUCTION_VERSION: 1, Flag.CANARY_VERSION: 2}
    return [
        *channels,
        Channel(Product.RAW.channel(IFO), r, CLEANED_RATE_HZ, gps),
        *(
            Channel(f.channel(IFO), np.full(int(FLAG_RATE_HZ), v, np.int32), FLAG_RATE_HZ, gps)
            for f, v in flags.items()
        ),
    ]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    root = tmp_path_factory.mktemp("validate-archive")
    data = simulate(root / "data", 84, GPS, *INJECT)
    channels = parse_channels(data / "channels.txt", IFO)
    truth = f"{IFO}:SIM-INJECTION"
    span = read_span(data, IFO, channels, START, DURATION, 4096.0, extra_strain_channels=[truth])
    raw, h = span.data[0], span.extras[truth]
    written = root / "written"  # what the cleaner wrote, before the carousel was trimmed
    project = root / "project"
    for gps in range(START, START + DURATION):
        write_frame(root / "ref" / cleaned_frame_name(IFO, gps), _second(gps, raw, h, True))
        if gps == GAP:
            continue
        folder = written if gps < CAROUSEL_FROM else project / "cleaned" / IFO
        write_frame(folder / cleaned_frame_name(IFO, gps), _second(gps, raw, h))
    archive = Archive(project, IFO, float32=True)
    for start in range(GPS, CAROUSEL_FROM, 32):
        archive.write(
            max(start, START),
            min(start + 32, CAROUSEL_FROM),
            lambda gps: written / cleaned_frame_name(IFO, gps),
        )
    return {"data": data, "project": project, "root": root, "archive": archive}


def test_validate_reads_the_archive_and_the_carousel(live):
    spans = [(gps, duration) for gps, duration, _ in live["archive"].files()]
    assert spans == [(START, 28), (GPS + 32, 13), (GAP + 1, 18), (GPS + 64, 8)]
    report_dir = live["root"] / "report"
    code = run_cli(
        validate_argv(
            live["data"],
            report_dir,
            IFO,
            START,
            DURATION,
            "--project-dir",
            str(live["project"]),
            "--reference-dir",
            str(live["root"] / "ref"),
            *SPAN_FLAGS,
            "--max-snr-loss",
            "0.1",
        )
    )
    assert code == 0
    report = json.loads((report_dir / "report.json").read_text())
    assert [r["kind"] for r in report["injections"]] == ["bbh", "sine_gaussian"]
    for result in report["injections"]:
        assert result["status"] == "ok"
        series = result["series"]
        assert set(series) == {"raw", "production", "out_dq", "canary"}
        for name in ("raw", "production", "out_dq"):
            assert series[name]["snr"] == pytest.approx(series[name]["optimal_snr"], rel=0.01)
        # float32 archives (raw rounded too) against the float64 reference: losses ~4e-7
        assert series["production"]["snr"] == pytest.approx(series["raw"]["snr"], rel=1e-6)
        assert result["snr_loss"]["production"] == pytest.approx(0.0, abs=1e-5)
        assert result["snr_loss"]["out_dq"] == pytest.approx(0.0, abs=1e-5)
        assert result["snr_loss"]["canary"] == pytest.approx(CANARY_EATS, abs=1e-5)
    assert report["range"]["mpc"]["production"] == pytest.approx(
        report["range"]["mpc"]["raw"], rel=1e-6
    )
