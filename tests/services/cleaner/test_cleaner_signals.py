"""Signals through the live cleaner and the real Triton: untouched, and they move no gate.

The same two-witness detector is simulated twice (seed 3): with two loud injections (a binary
black hole and a 60 Hz sine-Gaussian, optimal SNR 300: matched-filter SNR >= 100 in every
series) and without. One ``deepclean cleaner`` per data directory cleans it through one real
Triton serving the trained model. Checked:

* clean(strain + injection) - clean(strain) equals the injection resampled to 4096 Hz (the raw
  channels' difference) to float precision in PRODUCTION and OUT_DQ: the network sees only
  witnesses, so any other difference is a bug;
* the state vector (OUT_DQ gating bits included) and both version channels are the same
  with and without the signals, and so is the monitor's verdict on every 8 s segment (in-band
  ratios and BNS ranges from median-averaged Welch ASDs, the monitor's default). With the mean,
  the sine-Gaussian's power sets both PSDs in band, the range gain from cleaning collapses to
  ~0 and the verdict hangs on small differences elsewhere: with the band-pass-only live edge
  it failed range(canary) >= range(raw) (docs/signals.md);
* ``deepclean validate`` over the cleaner's frames finds both injections with SNR within 1 %
  of the optimal SNR from the simulator's truth, recovers them exactly against the reference,
  and reports a positive BNS range gain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest

from deepclean.services.monitor.ranges import segment_ranges
from deepclean.services.monitor.settings import MonitorSettings
from deepclean.utils.channels import parse_channels
from deepclean.utils.frames.span import read_span
from deepclean.utils.monitoring.asd import asd as welch_asd
from deepclean.utils.monitoring.decision import CanaryTracker, Thresholds
from deepclean.utils.monitoring.range_gate import range_veto
from deepclean.utils.products import StateBit
from deepclean.utils.signal.asd_ratios import band_ratio
from deepclean.utils.triton.server import TritonServer, start_on_free_ports
from tests.services.validate.helpers import validate_argv

from .cleaner_helpers import (
    IFO,
    LIVE_GPS,
    ServiceThread,
    cleaned_files,
    make_repository,
    read_cleaned,
    run_cli,
    simulate_backfill,
    wait_for,
)

pytestmark = pytest.mark.slow

DURATION = 36  #: s simulated
CLEAN = (LIVE_GPS + 4, LIVE_GPS + 32)  #: seconds compared (after the warm-up)
INJECT = [
    "--inject-gps",
    str(LIVE_GPS + 14.3),
    str(LIVE_GPS + 23.6),
    "--inject-kinds",
    "bbh",
    "sine_gaussian",
    "--inject-snr",
    "300",
]
STRAIN_LIKE = (
    "GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION",
    "GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION_OUT_DQ",
)


@pytest.fixture(scope="module")
def triton(trained_model, tmp_path_factory) -> Iterator[TritonServer]:
    model, channels = trained_model
    repo = make_repository(tmp_path_factory.mktemp("signals-repo") / "model_repo", channels, model)
    server = start_on_free_ports(repo, log_path=repo.parent / "triton.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def runs(triton, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("signals")
    out = {}
    for name, extra in (("with", INJECT), ("without", [])):
        data, project = root / name / "data", root / name / "project"
        simulate_backfill(data, LIVE_GPS, DURATION, *extra)
        with ServiceThread(data, project, triton.grpc_url, LIVE_GPS):
            wait_for(lambda p=project: CLEAN[1] in cleaned_files(p), 180, f"cleaned {CLEAN[1]}")
        files = cleaned_files(project)
        out[name] = {
            "data": data,
            "project": project,
            "frames": {g: read_cleaned(files[g]) for g in range(*CLEAN)},
        }
    out["root"] = root
    return out


def series(run, name):
    return np.concatenate([run["frames"][g][name] for g in range(*CLEAN)])


def test_cleaning_passes_the_injection_through_exactly(runs):
    with_, without = runs["with"], runs["without"]
    injected = series(with_, "DEEPCLEAN-RAW_STRAIN") - series(without, "DEEPCLEAN-RAW_STRAIN")
    scale = np.max(np.abs(injected))
    assert scale > 0
    # the raw difference is the simulator's truth channel, resampled
    channels = parse_channels(with_["data"] / "channels.txt", IFO)
    truth = read_span(
        with_["data"],
        IFO,
        channels,
        CLEAN[0],
        CLEAN[1] - CLEAN[0],
        4096.0,
        extra_strain_channels=[f"{IFO}:SIM-INJECTION"],
    ).extras[f"{IFO}:SIM-INJECTION"]
    assert np.max(np.abs(injected - truth)) < 1e-6 * scale
    for name in STRAIN_LIKE:
        recovered = series(with_, name) - series(without, name)
        # float32 through Triton: the noise estimate is identical, so only rounding of the
        # float64 subtraction of a ~1e-18 strain remains
        assert np.max(np.abs(recovered - injected)) < 1e-9 * scale, name


def test_a_loud_signal_moves_no_gate(runs):
    with_, without = runs["with"], runs["without"]
    for flag in (
        "DEEPCLEAN-STATE_VECTOR",
        "DEEPCLEAN-PRODUCTION_VERSION",
        "DEEPCLEAN-CANARY_VERSION",
    ):
        assert np.array_equal(series(with_, flag), series(without, flag)), flag
    bits = series(with_, "DEEPCLEAN-STATE_VECTOR")
    assert np.mean((bits & StateBit.OUT_DQ_CLEANED) > 0) > 0.5  # the gate did open: a real test


def test_a_loud_signal_moves_no_monitor_decision(runs):
    with_, without = runs["with"], runs["without"]
    average = MonitorSettings.model_fields["asd_average"].default
    verdicts = {}
    for name, run in (("with", with_), ("without", without)):
        tracker = CanaryTracker(Thresholds(passes=100, failures=100))
        out = []
        for end in range(CLEAN[0] + 8, CLEAN[1] + 1, 8):
            stack = {
                key: np.concatenate([run["frames"][g][product] for g in range(end - 8, end)])
                for key, product in (
                    ("raw", "DEEPCLEAN-RAW_STRAIN"),
                    ("production", "GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION"),
                    ("canary", "GDS-CALIB_STRAIN_DEEPCLEAN_CANARY"),
                    ("out_dq", "GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION_OUT_DQ"),
                )
            }
            freqs, asds = welch_asd(np.stack(list(stack.values())), 4096.0, 2.0, average)
            by_name = dict(zip(stack, asds))
            canary = band_ratio(by_name["canary"], by_name["raw"], freqs, [(58.0, 62.0)])
            production = band_ratio(by_name["production"], by_name["raw"], freqs, [(58.0, 62.0)])
            veto = range_veto(segment_ranges(end, freqs, by_name), 0.01)
            out.append(tracker.check(end, 1, 2, canary, production, veto).verdict)
        verdicts[name] = out
    assert verdicts["with"] == verdicts["without"]


def test_validate_finds_every_injection_with_its_optimal_snr(runs):
    with_, without = runs["with"], runs["without"]
    report_dir = runs["root"] / "validate"
    code = run_cli(
        validate_argv(
            with_["data"],
            report_dir,
            IFO,
            CLEAN[0],
            CLEAN[1] - CLEAN[0],
            "--project-dir",
            str(with_["project"]),
            "--reference-dir",
            str(without["project"] / "cleaned" / IFO),
            "--psd-length",
            "5",
            "--pad",
            "1",
            "--range-stride",
            "20",
            "--max-snr-loss",
            "0.001",
        )
    )
    assert code == 0
    report = json.loads((report_dir / "report.json").read_text())
    assert [r["kind"] for r in report["injections"]] == ["bbh", "sine_gaussian"]
    for result in report["injections"]:
        for name in ("raw", "production", "out_dq", "canary"):
            s = result["series"][name]
            assert s["snr"] >= 100
            assert s["snr"] == pytest.approx(s["optimal_snr"], rel=0.01), (result["kind"], name)
            if name != "raw":
                assert s["recovered_fraction"] == pytest.approx(1.0, abs=1e-6)
                assert s["mismatch"] < 1e-6
    assert report["range"]["gain"]["production"] > 0
