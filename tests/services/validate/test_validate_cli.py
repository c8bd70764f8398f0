"""``deepclean validate`` over cleaned frames made here from real simulated frames.

The "cleaned" products are the raw strain as ``read_span`` resamples it, minus a chosen
fraction of the injected truth: a cleaner that passes signals through (fraction 0) and one
that eats 10 % of them. Real frames, real LAL waveforms; no Triton needed for the measurement
itself (the end-to-end test with the real Triton: test_validate_e2e.py).
"""

import json

import pytest

from deepclean.services.offline.clean import cleaned_frame_name
from deepclean.utils.channels import parse_channels
from deepclean.utils.frames.gwf import Channel, write_frame
from deepclean.utils.frames.span import read_span
from deepclean.utils.products import Product
from tests.services.trainer.sim_helpers import GPS, IFO, run_cli, simulate
from tests.services.validate.helpers import SPAN_FLAGS, validate_argv

START, DURATION = GPS + 4, 76
INJECT = [
    "--inject-gps",
    str(GPS + 30.4),
    str(GPS + 52.7),
    "--inject-kinds",
    "bbh",
    "sine_gaussian",
    "--inject-snr",
    "400",
]


def write_cleaned(data, out, eaten: float, truth_too: bool = True):
    """Cleaned frames (PRODUCTION) = raw - eaten x truth, and a reference without the signal."""
    channels = parse_channels(data / "channels.txt", IFO)
    truth = f"{IFO}:SIM-INJECTION"
    span = read_span(data, IFO, channels, START, DURATION, 4096.0, extra_strain_channels=[truth])
    raw, h = span.data[0], span.extras[truth]
    for folder, series in ((out / "clean", raw - eaten * h), (out / "ref", raw - h)):
        for i in range(DURATION):
            piece = series[i * 4096 : (i + 1) * 4096]
            channel = Channel(Product.PRODUCTION.channel(IFO), piece, 4096.0, float(START + i))
            write_frame(folder / cleaned_frame_name(IFO, START + i), [channel])
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("validate") / "data", 84, GPS, *INJECT)


def validate(data, out, *extra):
    return run_cli(
        validate_argv(
            data,
            out / "report",
            IFO,
            START,
            DURATION,
            "--cleaned-dir",
            str(out / "clean"),
            *SPAN_FLAGS,
            *extra,
        )
    )


def test_every_injection_found_with_its_optimal_snr(data, tmp_path):
    out = write_cleaned(data, tmp_path, eaten=0.0)
    assert validate(data, out, "--reference-dir", str(out / "ref"), "--max-snr-loss", "0.001") == 0
    report = json.loads((out / "report" / "report.json").read_text())
    assert [r["kind"] for r in report["injections"]] == ["bbh", "sine_gaussian"]
    for result in report["injections"]:
        assert result["status"] == "ok"
        for name in ("raw", "production"):
            s = result["series"][name]
            # SNR 400: the noise moves the SNR by ~1, a quarter of the 1 % allowed
            assert s["snr"] == pytest.approx(s["optimal_snr"], rel=0.01)
            assert abs(s["time_offset_s"]) < 1 / 4096
            assert abs(s["phase_offset_rad"]) < 0.01
        assert result["series"]["production"]["recovered_fraction"] == pytest.approx(1, abs=1e-9)
        assert result["series"]["production"]["mismatch"] < 1e-9
    rng = report["range"]
    assert rng["mpc"]["production"] == pytest.approx(rng["mpc"]["raw"], rel=1e-6)
    assert rng["mpc"]["raw"] > 10
    assert (out / "report" / "snr.png").stat().st_size > 1000
    assert (out / "report" / "range.png").stat().st_size > 1000


def test_a_cleaner_that_eats_signal_fails(data, tmp_path, caplog):
    out = write_cleaned(data, tmp_path, eaten=0.1)
    assert validate(data, out, "--reference-dir", str(out / "ref"), "--max-snr-loss", "0.05") == 1
    report = json.loads((out / "report" / "report.json").read_text())
    assert report["failed"] == 2
    for result in report["injections"]:
        assert result["snr_loss"]["production"] == pytest.approx(0.1, abs=1e-9)
    # without the reference the SNR ratio tells the same, with the noise's scatter
    assert validate(data, out, "--max-snr-loss", "0.05") == 1
    report = json.loads((out / "report" / "report.json").read_text())
    for result in report["injections"]:
        assert result["snr_loss"]["production"] == pytest.approx(0.1, abs=0.01)


def test_bad_band_is_one_line(data, tmp_path, capsys):
    assert validate(data, tmp_path, "--snr-f-high", "3000") == 2
    assert "snr_f_high 3000.0 Hz" in capsys.readouterr().err
