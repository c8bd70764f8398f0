"""A real (short) training run on default simulator data must actually clean (slow: ~1 min)."""

import json

import pytest

from .sim_helpers import GPS, IFO, run_cli

pytestmark = pytest.mark.slow


def test_cpu_profile_cleans_held_out_data(tmp_path):
    data, model, clean = tmp_path / "data", tmp_path / "model", tmp_path / "clean"
    assert (
        run_cli(
            [
                "simulate",
                "--data-dir",
                str(data),
                "--ifo",
                IFO,
                "--start",
                str(GPS),
                "--duration",
                "168",
                "--backfill",
                "--seed",
                "3",
            ]
        )
        == 0
    )
    assert (
        run_cli(
            [
                "train",
                "--profile",
                "cpu",
                "--data-dir",
                str(data),
                "--ifo",
                IFO,
                "--channels",
                str(data / "channels.txt"),
                "--start",
                str(GPS),
                "--duration",
                "128",
                "--output-dir",
                str(model),
                "--kernel-length",
                "4",
                "--batch-size",
                "8",
                "--max-epochs",
                "8",
                "--max-steps",
                "16",
                "--early-stop",
                "8",
            ]
        )
        == 0
    )
    assert (
        run_cli(
            [
                "clean-offline",
                "--profile",
                "cpu",
                "--data-dir",
                str(data),
                "--ifo",
                IFO,
                "--weights",
                str(model),
                "--start",
                str(GPS + 136),
                "--duration",
                "24",
                "--output-dir",
                str(clean),
            ]
        )
        == 0
    )
    report = json.loads((clean / "report.json").read_text())
    assert report["raw_background_ratio"] > 10  # the simulator's coupled noise is there
    assert report["in_band_ratio"] < 0.5, (
        report
    )  # and most of it is removed after ~1 minute of training
    for ratio in report["out_of_band_ratio"].values():
        assert 0.98 <= ratio <= 1.02
    assert len(list(clean.glob("H-H1_llhoft_deepclean-*-1.gwf"))) == 24
