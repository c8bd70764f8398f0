"""``deepclean simulate --inject-*``: signals in strain only, a truth channel, the list."""

import json

import numpy as np
import pytest

from deepclean.utils.frames.gwf import read_frame
from deepclean.utils.frames.naming import FrameKind, frame_path
from deepclean.utils.injection_list import COLUMNS, read_injections
from tests.services.trainer.sim_helpers import GPS, IFO, run_cli, simulate

STRAIN = f"{IFO}:GDS-CALIB_STRAIN"
TRUTH = f"{IFO}:SIM-INJECTION"
INJECT = ["--inject-gps", str(GPS + 5.3), str(GPS + 9.7), "--inject-kinds", "bbh", "sine_gaussian"]


def _channels(data, kind, gps):
    path = frame_path(data, kind, IFO, gps)
    from deepclean.utils.frames.gwf import list_channels

    return read_frame(path, list_channels(path))


def test_injections_go_into_strain_only_with_a_truth_channel(tmp_path):
    plain = simulate(tmp_path / "plain", 12)
    injected = simulate(tmp_path / "inj", 12, GPS, *INJECT, "--seed", "0")
    total = 0.0
    for gps in range(GPS, GPS + 12):
        a, b = _channels(plain, FrameKind.STRAIN, gps), _channels(injected, FrameKind.STRAIN, gps)
        signal = b[TRUTH].data
        # strain + signal, nothing else (to the rounding of one float64 addition)
        np.testing.assert_allclose(
            b[STRAIN].data - signal,
            a[STRAIN].data,
            rtol=0,
            atol=4e-16 * np.max(np.abs(a[STRAIN].data)),
        )
        assert np.array_equal(b[f"{IFO}:SIM-BACKGROUND"].data, a[f"{IFO}:SIM-BACKGROUND"].data)
        wa, wb = (
            _channels(plain, FrameKind.WITNESS, gps),
            _channels(injected, FrameKind.WITNESS, gps),
        )
        assert wa.keys() == wb.keys()
        for name in wa:
            assert np.array_equal(wa[name].data, wb[name].data), name  # witnesses never see it
        total += float(np.sum(signal**2))
    assert total > 0
    ifo, rows = read_injections(injected / f"injections-{IFO}.json")
    assert str(ifo) == IFO
    assert [(r["kind"], r["gps"]) for r in rows] == [
        ("bbh", GPS + 5.3),
        ("sine_gaussian", GPS + 9.7),
    ]
    for r in rows:
        assert set(COLUMNS) <= set(r)
        assert r["optimal_snr"] == pytest.approx(20.0)
        assert r["start_gps"] < r["detector_gps"] < r["end_gps"]


def test_same_seed_same_injections_and_a_continued_list(tmp_path):
    one = simulate(tmp_path / "one", 12, GPS, *INJECT, "--inject-every", "8", "--seed", "5")
    two = simulate(tmp_path / "two", 6, GPS, *INJECT, "--inject-every", "8", "--seed", "5")
    code = run_cli(
        [
            "simulate",
            "--data-dir",
            str(two),
            "--ifo",
            IFO,
            "--start",
            str(GPS + 6),
            "--duration",
            "6",
            "--backfill",
            "--num-witnesses",
            "2",
            "--coupled-witnesses",
            "ASC-DHARD_P_OUT_DQ",
            "--coupling-weights",
            "1.0",
            *INJECT,
            "--inject-every",
            "8",
            "--seed",
            "5",
        ]
    )
    assert code == 0
    for gps in range(GPS, GPS + 12):
        a, b = _channels(one, FrameKind.STRAIN, gps), _channels(two, FrameKind.STRAIN, gps)
        assert np.array_equal(a[STRAIN].data, b[STRAIN].data)
    rows_one = json.loads((one / f"injections-{IFO}.json").read_text())["injections"]
    rows_two = json.loads((two / f"injections-{IFO}.json").read_text())["injections"]
    assert rows_one == rows_two
    assert len(rows_one) >= 3  # the two explicit ones and at least one random


def test_bad_injection_flag_is_one_line(tmp_path, capsys):
    code = run_cli(
        [
            "simulate",
            "--data-dir",
            str(tmp_path),
            "--ifo",
            IFO,
            "--start",
            str(GPS),
            "--duration",
            "2",
            "--backfill",
            "--inject-kinds",
            "comet",
        ]
    )
    assert code != 0
    assert "inject_kinds" in capsys.readouterr().err
