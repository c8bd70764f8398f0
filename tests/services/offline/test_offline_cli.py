"""deepclean train + deepclean clean-offline on tiny simulated frames."""

import json

import numpy as np
import pytest
import torch

from deepclean.services.offline.clean import cleaned_channel, cleaned_frame_name, padding
from deepclean.utils.frames.gwf import read_frame
from deepclean.utils.frames.span import read_span
from deepclean.utils.signal.filters import BandpassFilter
from deepclean.utils.streaming import StreamGeometry
from deepclean.utils.training.artifacts import load_model

from ..trainer.sim_helpers import GPS, IFO, TINY_TRAIN, flags, run_cli, simulate

CLEAN_START, CLEAN_SECONDS = GPS + 36, 10
GEOMETRY = dict(inference_sampling_rate=8.0, inference_batch_size=4, max_latency=0.5)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("offline")
    data = simulate(root / "data", 52)
    model = root / "model"
    code = run_cli(
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
            "32",
            "--output-dir",
            str(model),
            *flags(TINY_TRAIN),
        ]
    )
    assert code == 0
    return data, model


@pytest.fixture(scope="module")
def cleaned(trained, tmp_path_factory):
    data, model = trained
    out = tmp_path_factory.mktemp("clean")
    code = run_cli(
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
            str(CLEAN_START),
            "--duration",
            str(CLEAN_SECONDS),
            "--output-dir",
            str(out),
            "--num-threads",
            "1",
            "--allow-worse",
            *flags(GEOMETRY),  # a 3-step model need not clean
            "--stream-mode",
            "windowed",  # the oracle below is the original's window average
        ]
    )
    assert code == 0
    return out


def test_train_writes_model(trained):
    _, model = trained
    meta = json.loads((model / "metadata.json").read_text())
    assert meta["channels"] == [
        "H1:GDS-CALIB_STRAIN",
        "H1:ASC-DHARD_P_OUT_DQ",
        "H1:PEM-CS_MAINSMON_EBAY_1_DQ",
    ]
    assert meta["training"]["profile"] == "cpu"
    assert meta["span"]["start"] == GPS and meta["span"]["duration"] == 32
    assert set(torch.load(model / "weights.pt", weights_only=True)) >= {
        "network.output_conv.weight",
        "target_scaler.std",
    }


def test_frames_and_report(cleaned):
    for gps in range(CLEAN_START, CLEAN_START + CLEAN_SECONDS):
        path = cleaned / cleaned_frame_name(IFO, gps)
        assert path.name == f"H-H1_llhoft_deepclean-{gps}-1.gwf"
        channel = read_frame(
            path,
            [cleaned_channel(IFO)],
            expected_t0=gps,
            expected_duration=1.0,
            expected_rates={cleaned_channel(IFO): 4096.0},
        )[cleaned_channel(IFO)]
        assert channel.name == "H1:GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION"
    report = json.loads((cleaned / "report.json").read_text())
    assert report["frames_written"] == CLEAN_SECONDS and report["missing_seconds"] == []
    assert set(report["out_of_band_ratio"]) == {"20-50Hz", "70-200Hz"}
    for ratio in report["out_of_band_ratio"].values():
        assert ratio == pytest.approx(1.0, abs=0.01)  # cleaning adds nothing out of band
    assert report["background_channel"] == "H1:SIM-BACKGROUND" and report["background_ratio"] > 0
    assert report["in_band_ratio"] > 0 and report["throughput"] > 0


def test_cleaning_equals_direct_window_average(trained, cleaned):
    """Oracle: predict every window with the model, average the last max_latency of each by a
    direct loop, band-pass, subtract: must equal the frames written."""
    data, model_dir = trained
    model, meta = load_model(model_dir)
    fs = 4096.0
    geometry = StreamGeometry.from_seconds(
        kernel_length=1.0, stride_length=1 / 8, sample_rate=fs, batch_size=4, max_latency=0.5
    )
    pad = padding(geometry, fs, filter_pad=2.0)
    start = CLEAN_START - pad.before
    span = read_span(data, IFO, meta.channels, start, CLEAN_SECONDS + pad.before + pad.after, fs)
    k, s, lag = geometry.kernel_size, geometry.stride, geometry.lag_samples
    n_used = span.data.shape[1] // geometry.update_size * geometry.update_size
    x = np.concatenate(
        [np.zeros((2, k - s)), span.data[1:, :n_used]], axis=1
    )  # the snapshotter's initial zeros
    noise_sum = np.zeros(n_used)
    ends = np.arange(s, n_used + 1, s)
    windows = np.stack([x[:, t - s : t - s + k] for t in ends])  # window ending at input sample t
    with torch.no_grad():
        predictions = model(torch.as_tensor(windows, dtype=torch.float32)).double().numpy()
    for t, prediction in zip(ends, predictions):
        lo = max(t - lag, 0)  # the first windows' tails reach before the input: dropped (warm-up)
        noise_sum[lo:t] += prediction[k - (t - lo) :]
    noise = noise_sum / geometry.num_updates
    first, n, memory = pad.before * 4096, CLEAN_SECONDS * 4096, 2 * 4096
    filtered = BandpassFilter(tuple(meta.filter_bands), fs)(
        noise[first - memory : first + n + memory]
    )[memory:-memory]
    expected = span.data[0, first : first + n] - filtered
    got = np.concatenate(
        [
            read_frame(cleaned / cleaned_frame_name(IFO, g), [cleaned_channel(IFO)])[
                cleaned_channel(IFO)
            ].data
            for g in range(CLEAN_START, CLEAN_START + CLEAN_SECONDS)
        ]
    )
    np.testing.assert_allclose(
        got - span.data[0, first : first + n],
        expected - span.data[0, first : first + n],
        atol=1e-5 * np.abs(filtered).max(),
    )


def test_missing_settings_exit_2(capsys):
    assert run_cli(["clean-offline", "--profile", "cpu", "--start", "1"]) == 2
    err = capsys.readouterr().err
    assert "setting weights is required: give --weights" in err and "--output-dir" in err
