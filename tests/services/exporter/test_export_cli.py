"""``deepclean export-model``: a real export of a small DeepClean (python platform, the CPU
server's) with the streaming ensemble, a second export becoming the canary, and the
errors that must stop it with one line and leave the repository untouched."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from deepclean.services.cli import main
from deepclean.utils.export import STATUS_FILENAME, ModelRepository, Platform
from deepclean.utils.export.config import specific_versions
from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.products import VersionInfo, parse_version_info

CHANNELS = [
    "H1:GDS-CALIB_STRAIN",
    "H1:PEM-CS_MAINSMON_EBAY_1_DQ",
    "H1:ASC-DHARD_P_OUT_DQ",
    "H1:ASC-CHARD_P_OUT_DQ",
]
WITNESSES = sorted(CHANNELS[1:])  # model input order: witnesses sorted
START, DURATION = 1400000000, 1024
# 1024 Hz, 64-sample kernels, 4-sample stride, 4 windows per update, 32-sample averaging
GEOMETRY = [
    "--stream-mode",
    "windowed",
    "--sample-rate",
    "1024",
    "--kernel-length",
    "0.0625",
    "--stride-length",
    "0.00390625",
    "--batch-size",
    "4",
    "--max-latency",
    "0.03125",
]


@pytest.fixture(autouse=True)
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _weights(folder: Path, witnesses: int, *, metadata_channels: list[str] | None = None) -> Path:
    folder.mkdir(parents=True)
    model = DeepCleanModel(witnesses)
    rng = np.random.default_rng(witnesses)
    model.witness_scaler.fit(rng.standard_normal((witnesses, 1000)) * 3 + 1)
    model.target_scaler.fit(rng.standard_normal(1000) * 1e-21)
    torch.save(model.state_dict(), folder / "weights.pt")
    if metadata_channels is not None:
        meta = {
            "channels": metadata_channels,
            "sample_rate": 1024.0,
            "span": {"start": START, "duration": DURATION},
            "bands": [[59.0, 61.0]],
            "filter_bands": [[58.0, 62.0]],
            "losses": {"best_valid_loss": 0.5},
            "validation": {"in_band_ratio": 0.25},
        }
        (folder / "metadata.json").write_text(json.dumps(meta))
    return folder


@pytest.fixture
def inputs(tmp_path):
    channels = tmp_path / "channels.txt"
    channels.write_text("\n".join(CHANNELS) + "\n")
    run = _weights(tmp_path / "train" / f"{START}-{START + DURATION}", len(WITNESSES))
    return channels, run


def _export(repo: Path, channels, weights, *extra: str) -> int:
    return main(
        [
            "export-model",
            "--repository-directory",
            str(repo),
            "--channels",
            str(channels),
            "--weights",
            str(weights),
            *GEOMETRY,
            *extra,
            "autoencoder",
        ]
    )


def _tree(root: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
    }


def test_export_then_canary(tmp_path, inputs) -> None:
    channels, run = inputs
    repo_dir = tmp_path / "repo"
    assert _export(repo_dir, channels, run, "--platform", "python", "--instances", "2") == 0

    repo = ModelRepository(repo_dir)
    assert sorted(repo.models) == [
        "aggregator-canary",
        "aggregator-production",
        "deepclean",
        "deepclean-stream",
        "snapshotter",
    ]
    deepclean = repo["deepclean"]
    assert deepclean.platform is Platform.PYTHON and deepclean.versions == [1]
    assert sorted(p.name for p in (repo_dir / "deepclean" / "1").iterdir()) == [
        "__pycache__",
        STATUS_FILENAME,
        "model.onnx",
        "model.py",
    ]
    assert json.loads((repo_dir / "deepclean" / "1" / STATUS_FILENAME).read_text())["verification"][
        "passed"
    ]
    assert deepclean.config.max_batch_size == 4 and [
        g.count for g in deepclean.config.instance_group
    ] == [2]
    assert {n: list(t.dims) for n, t in deepclean.inputs.items()} == {"witness": [3, 64]}
    assert {n: list(t.dims) for n, t in deepclean.outputs.items()} == {"noise": [64]}
    assert deepclean.parameters == {
        "channels": [CHANNELS[0], *WITNESSES],
        "sample_rate": 1024.0,
        "kernel_length": 0.0625,
        "stride_length": 0.00390625,
        "training_spans": {"1": {"start": START, "duration": DURATION}},
        "version_info": {
            "1": {
                "trained": True,
                "span": {"start": START, "duration": DURATION},
                "model_dir": str(run.resolve()),
                "valid_loss": None,
                "in_band_ratio": None,
                "bands": [[58.0, 62.0]],
                "filter_bands": [[58.0, 62.0]],
            }
        },
    }
    assert specific_versions(deepclean.config) == [1]

    def pins(repository):
        steps = repository["deepclean-stream"].config.ensemble_scheduling.step
        return {
            s.output_map[next(iter(s.output_map))]: s.model_version
            for s in steps
            if s.model_name == "deepclean"
        }

    assert pins(repo) == {"prediction_production": 1, "prediction_canary": 1}

    # a second training run becomes the canary; production stays
    run2 = _weights(
        tmp_path / "train" / f"{START + 2048}-{START + 3072}",
        len(WITNESSES),
        metadata_channels=[CHANNELS[0], *WITNESSES],
    )
    assert _export(repo_dir, channels, run2 / "weights.pt", "--platform", "python") == 0
    repo = ModelRepository(repo_dir)
    assert repo["deepclean"].versions == [1, 2] and specific_versions(repo["deepclean"].config) == [
        1,
        2,
    ]
    assert pins(repo) == {"prediction_production": 1, "prediction_canary": 2}
    assert repo["deepclean"].parameters["training_spans"]["2"] == {
        "start": START,
        "duration": DURATION,
    }
    infos = parse_version_info(repo["deepclean"].parameters["version_info"])
    assert sorted(infos) == [1, 2] and infos[2].model_dir == str(run2.resolve())
    assert infos[2] == VersionInfo(
        trained=True,
        span={"start": START, "duration": DURATION},
        model_dir=str(run2.resolve()),
        valid_loss=0.5,
        in_band_ratio=0.25,
        bands=[[59.0, 61.0]],
        filter_bands=[[58.0, 62.0]],
    )

    # a later failure (streaming models with other settings) leaves everything as it was
    before = _tree(repo_dir)
    assert _export(repo_dir, channels, run2, "--platform", "python", "--streams-per-gpu", "3") == 1
    assert _tree(repo_dir) == before

    # the platform of an existing DeepClean cannot change
    assert _export(repo_dir, channels, run2, "--platform", "onnxruntime_onnx") == 2
    assert _tree(repo_dir) == before


def _mismatched_channels(tmp_path, inputs):
    channels, run = inputs
    two = tmp_path / "two.txt"
    two.write_text("\n".join(CHANNELS[:3]) + "\n")
    return [two, run]


def _weights_without_file(tmp_path, inputs):
    return [inputs[0], tmp_path / "nowhere"]


def _other_metadata(tmp_path, inputs):
    run = _weights(
        tmp_path / "meta",
        len(WITNESSES),
        metadata_channels=["H1:GDS-CALIB_STRAIN", "H1:A", "H1:B", "H1:C"],
    )
    return [inputs[0], run]


ERRORS = [
    pytest.param(
        lambda t, i: list(i),
        ["--platform", "onnx"],
        2,
        r"setting platform = 'onnx' \(from command line --platform\): Input should be "
        r"'onnxruntime_onnx', "
        "'tensorrt_plan' or 'python'",
        id="unknown-platform",
    ),
    pytest.param(
        _weights_without_file,
        [],
        2,
        "setting weights = .*nowhere: no file .*nowhere; give weights.pt",
        id="missing-weights",
    ),
    pytest.param(
        _mismatched_channels,
        [],
        2,
        r"weights .*weights.pt were trained on 3 witnesses, but the channel list has 2 witnesses",
        id="channels",
    ),
    pytest.param(
        _other_metadata,
        [],
        2,
        "the channel list differs from the one in .*metadata.json",
        id="metadata",
    ),
    pytest.param(
        lambda t, i: list(i),
        ["--stride-length", "0.0048828125"],
        2,
        "stream geometry: kernel_length 0.0625 s is not a multiple of stride_length 0.0048828125 s",
        id="kernel-not-multiple-of-stride",
    ),
    pytest.param(
        lambda t, i: list(i),
        ["--kernel-length", "0.0703125", "--stride-length", "0.0009765625"],
        2,
        "kernel_length 0.0703125 s is 72 samples at 1024.0 Hz; DeepClean needs a multiple of 16",
        id="kernel-not-multiple-of-16",
    ),
    pytest.param(
        lambda t, i: list(i),
        ["--stream-mode", "contiguous"],
        2,
        "the contiguous stream mode lags by 108 samples .* more than kernel_size 64 "
        "samples; allowed: a "
        "kernel at least that long, or the windowed stream mode",
        id="contiguous-lag-beyond-kernel",
    ),
    pytest.param(
        lambda t, i: list(i),
        ["--platform", "tensorrt_plan"],
        1,
        "needs the Python package 'tensorrt'.*must be built on the serving GPU",
        id="tensorrt-missing",
    ),
]


@pytest.mark.parametrize(("make", "extra", "status", "message"), ERRORS)
def test_errors(tmp_path, inputs, capsys, make, extra, status, message) -> None:
    channels, weights = make(tmp_path, inputs)
    repo_dir = tmp_path / "repo"
    repo_dir.mkdir()
    (repo_dir / "README").write_text("keep me\n")
    before = _tree(repo_dir)
    assert _export(repo_dir, channels, weights, *extra) == status
    lines = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in lines if ": error: " in line]
    assert len(errors) == 1, lines
    assert errors[0].startswith("deepclean export-model: error: ")
    assert re.search(message, errors[0]), errors[0]
    assert _tree(repo_dir) == before


def test_architecture_required(tmp_path, inputs, capsys) -> None:
    assert main(["export-model", "--channels", str(inputs[0]), "--weights", str(inputs[1])]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "deepclean export-model: error: give the architecture after the options: one of "
        "['autoencoder']"
    ]


def test_channels_and_weights_required(tmp_path, capsys) -> None:
    assert main(["export-model", "--repository-directory", str(tmp_path), "autoencoder"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "deepclean export-model: error: setting channels is required: give --channels",
        "deepclean export-model: error: setting weights is required: give --weights",
    ]


L1_CHANNELS = [c.replace("H1:", "L1:") for c in CHANNELS]


@pytest.fixture
def l1_inputs(tmp_path, monkeypatch):
    """An L1 channel list and run, with no IFO in the environment or a .env file."""
    for name in ("IFO", "DEEPCLEAN_EXPORT_MODEL_IFO"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "empty.env").write_text("")
    monkeypatch.setenv("DEEPCLEAN_ENV_FILE", str(tmp_path / "empty.env"))
    channels = tmp_path / "l1.txt"
    channels.write_text("\n".join(L1_CHANNELS) + "\n")
    return channels, _weights(tmp_path / "train" / f"{START}-{START + DURATION}", len(WITNESSES))


def test_ifo_from_channels(tmp_path, l1_inputs) -> None:
    """No IFO given: the channel names say L1 (the shared default H1 does not count)."""
    channels, run = l1_inputs
    assert _export(tmp_path / "repo", channels, run, "--platform", "python") == 0
    params = ModelRepository(tmp_path / "repo")["deepclean-stream"].parameters
    assert params["channels"][0] == "L1:GDS-CALIB_STRAIN"


@pytest.mark.parametrize("how", ["flag", "env", "dotenv"])
def test_explicit_ifo_contradicting_channels(tmp_path, l1_inputs, monkeypatch, capsys, how) -> None:
    channels, run = l1_inputs
    extra = []
    if how == "flag":
        extra = ["--ifo", "H1"]
    elif how == "env":
        monkeypatch.setenv("IFO", "H1")
    else:
        (tmp_path / "my.env").write_text("DEEPCLEAN_EXPORT_MODEL_IFO=H1\n")
        monkeypatch.setenv("DEEPCLEAN_ENV_FILE", str(tmp_path / "my.env"))
    assert _export(tmp_path / "repo", channels, run, "--platform", "python", *extra) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "deepclean export-model: error: channel L1:GDS-CALIB_STRAIN belongs to L1, but the "
        "configured IFO is H1"
    )
    assert not (tmp_path / "repo" / "deepclean").exists()


def test_nan_weights_refused(tmp_path, inputs, capsys) -> None:
    channels, run = inputs
    state = torch.load(run / "weights.pt", weights_only=True)
    state["network.output_conv.bias"][0] = float("nan")
    torch.save(state, run / "weights.pt")
    assert _export(tmp_path / "repo", channels, run, "--platform", "python") == 2
    assert "hold NaN or infinite values in network.output_conv.bias" in capsys.readouterr().err


def test_contiguous_stream_mode(tmp_path, inputs) -> None:
    """--stream-mode contiguous: DeepClean takes one stretch per phase; the ensemble records mode
    and lag."""
    channels, run = inputs
    repo_dir = tmp_path / "repo"
    # 256-sample kernel, stride 8 samples, 4 windows per update: 32 new samples, lag 104, stretch
    # 224
    geometry = ["--kernel-length", "0.25", "--stride-length", "0.0078125"]
    assert (
        _export(
            repo_dir,
            channels,
            run,
            "--platform",
            "python",
            *geometry,
            "--stream-mode",
            "contiguous",
        )
        == 0
    )
    repo = ModelRepository(repo_dir)
    deepclean = repo["deepclean"]
    assert json.loads((repo_dir / "deepclean" / "1" / STATUS_FILENAME).read_text())["verification"][
        "passed"
    ]
    assert {n: list(t.dims) for n, t in deepclean.inputs.items()} == {"witness": [3, 224]}
    params = repo["deepclean-stream"].parameters
    assert params["stream_mode"] == "contiguous" and params["lag_samples"] == [104]
    assert params["max_latencies"] == [104 / 1024]
    assert repo["snapshotter"].parameters["mode"] == "contiguous"

    # a windowed export into the contiguous repository is refused and changes nothing
    before = _tree(repo_dir)
    assert (
        _export(
            repo_dir, channels, run, "--platform", "python", *geometry, "--stream-mode", "windowed"
        )
        != 0
    )
    assert _tree(repo_dir) == before
