import json

import numpy as np
import pytest
import torch

from deepclean.utils.errors import TrainingError
from deepclean.utils.training import artifacts
from deepclean.utils.training.pipeline import train_model
from deepclean.utils.training.settings import TrainingSettings

from .synthetic_span import BACKGROUND, FS, make_span

TINY = dict(
    sample_rate=FS,
    kernel_length=2.0,
    kernel_stride=1.0,
    batch_size=8,
    lr=1e-2,
    max_epochs=2,
    fftlength=1.0,
    overlap=0.5,
    inference_sampling_rate=16.0,
    inference_batch_size=4,
    max_latency=0.5,
    max_valid_loss=10.0,
    max_valid_ratio=10.0,
    num_threads=1,  # tiny tensors: a second thread only adds synchronisation
)


def _settings(**kwargs):
    return TrainingSettings.model_validate({**TINY, **kwargs})


@pytest.fixture(scope="module")
def trained(tiny_span, tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    return train_model(
        tiny_span,
        _settings(),
        out,
        profile="test",
        interactive=False,
        background_channel=BACKGROUND,
    )


def test_writes_model_directory(trained, tiny_span):
    out = trained.output_dir
    for name in ("weights.pt", "metadata.json", "loss.png", "asd.png", "checkpoint.pt"):
        assert (out / name).is_file(), name
    state = torch.load(out / "weights.pt", weights_only=True)
    assert "witness_scaler.std" in state and "network.output_conv.weight" in state
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["channels"] == list(tiny_span.channels)
    assert (
        meta["sample_rate"] == FS
        and meta["bands"] == [[58.0, 62.0]]
        and meta["filter_bands"] == [[58.0, 62.0]]
    )
    assert meta["kernel_length"] == 2.0 and meta["inference_sampling_rate"] == 16.0
    assert meta["span"]["start"] == tiny_span.t0 and meta["span"]["duration"] == 96.0
    assert meta["losses"]["epochs"] == 2 and np.isfinite(meta["losses"]["best_valid_loss"])
    assert set(meta["versions"]) >= {"torch", "numpy", "scipy"}
    assert (
        len(meta["scalers"]["witness"]["std"]) == 3 and len(meta["scalers"]["target"]["std"]) == 1
    )
    assert meta["validation"]["background_ratio"] is not None


def test_load_model_round_trip(trained, tiny_span):
    model, meta = artifacts.load_model(trained.output_dir)
    assert meta.witnesses == list(tiny_span.channels[1:])
    x = torch.as_tensor(tiny_span.data[1:, :512], dtype=torch.float32)[None]
    with torch.no_grad():
        noise = model(x)
    assert noise.shape == (1, 512) and torch.isfinite(noise).all()
    assert noise.abs().max() < 1e-18  # strain units


def test_fine_tuning_starts_from_previous_weights(trained, tiny_span, tmp_path):
    later = make_span(seed=1)
    result = train_model(
        later,
        _settings(max_epochs=1, max_steps=1),
        tmp_path,
        init_weights=trained.output_dir,
        interactive=False,
    )
    assert result.metadata.training["lr"] == pytest.approx(1e-3)  # lr * fine_tune_decay
    assert result.metadata.training["init_weights"] == str(trained.output_dir)
    before = torch.load(trained.output_dir / "weights.pt", weights_only=True)
    after = torch.load(tmp_path / "weights.pt", weights_only=True)
    conv = "network.input_conv.0.weight"
    assert (after[conv] - before[conv]).abs().max() < 0.01  # one small step away
    assert not torch.equal(
        after["witness_scaler.mean"], before["witness_scaler.mean"]
    )  # refitted on new data


def test_fine_tuning_needs_same_channels(trained, tiny_span, tmp_path):
    other = make_span(channels=("H1:GDS-CALIB_STRAIN", "H1:OTHER", "H1:W-ASC1", "H1:W-ASC2"))
    with pytest.raises(
        TrainingError, match=r"were trained on witnesses .* fine-tuning needs the same channels"
    ):
        train_model(
            other,
            _settings(max_epochs=1),
            tmp_path,
            init_weights=trained.output_dir,
            interactive=False,
        )


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"max_valid_loss": 1e-3}, r"best validation loss .* not below max_valid_loss"),
        ({"max_valid_ratio": 1e-3}, r"in-band ASD ratio .* not below max_valid_ratio"),
    ],
    ids=["loss", "asd-ratio"],
)
def test_failed_validation_keeps_previous_model(trained, tiny_span, tmp_path, bad, match):
    import shutil

    shutil.copytree(trained.output_dir, tmp_path, dirs_exist_ok=True)
    weights_before = (tmp_path / "weights.pt").read_bytes()
    meta_before = (tmp_path / "metadata.json").read_text()
    with pytest.raises(TrainingError, match=match):
        train_model(
            tiny_span, _settings(max_epochs=1, max_steps=2, **bad), tmp_path, interactive=False
        )
    assert (tmp_path / "weights.pt").read_bytes() == weights_before
    assert (tmp_path / "metadata.json").read_text() == meta_before


def test_band_margin_widens_filters_not_reports(tiny_span, tmp_path):
    result = train_model(
        tiny_span,
        _settings(max_epochs=1, max_steps=1, band_margin=1.0),
        tmp_path,
        interactive=False,
    )
    assert result.metadata.bands == [(58.0, 62.0)] and result.metadata.filter_bands == [
        (57.0, 63.0)
    ]
    assert artifacts.read_metadata(tmp_path).filter_bands == [(57.0, 63.0)]


def test_several_bands_are_trained_filtered_and_reported(tmp_path):
    """Coupling at 60 Hz and, through a second mains component, at 100 Hz: a model trained on
    both bands cleans both (each band's validation cleaned/raw ASD ratio below 1), keeps
    both in its metadata, and leaves out-of-band noise alone."""
    span = make_span(seconds=96, seed=4)
    n = span.data.shape[1]
    t = np.arange(n) / FS
    second = np.sin(2 * np.pi * 100.0 * t + 0.3)
    data = span.data.copy()
    data[3] += 0.5 * second  # the mains witness records the second component
    data[0] += 2e-21 * second * (0.5 + data[2])  # bilinear with the second ASC witness
    span = type(span)(
        channels=span.channels,
        data=data,
        ready=span.ready,
        t0=span.t0,
        sample_rate=FS,
        extras=span.extras,
    )
    settings = _settings(max_epochs=6, freq_low=[58.0, 98.0], freq_high=[62.0, 102.0])
    result = train_model(span, settings, tmp_path, interactive=False, background_channel=BACKGROUND)
    meta = artifacts.read_metadata(tmp_path)
    assert meta.bands == [(58.0, 62.0), (98.0, 102.0)] == meta.filter_bands
    per_band = result.metadata.validation["in_band_ratio_per_band"]
    assert set(per_band) == {"58-62Hz", "98-102Hz"}
    assert all(ratio < 0.9 for ratio in per_band.values()), per_band
    assert set(result.metadata.validation["background_ratio_per_band"]) == set(per_band)
    for ratio in result.metadata.validation["out_of_band_ratio"].values():
        assert ratio == pytest.approx(1.0, abs=0.02)
