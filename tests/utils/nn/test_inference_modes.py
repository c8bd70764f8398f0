"""DeepClean's receptive-field edges, and the contiguous stream mode against the windowed one.

The edges (:data:`deepclean.utils.streaming.EDGE_LEFT`/``EDGE_RIGHT``) are measured on the real
network: a pass over a stretch of a multiple of 16 samples differs from the pass over a longer
stream only in its first/last that many samples. The equality test trains a small model on
simulated frames and compares both modes at the production geometry (1 s windows 8 samples
apart, 128 per update, 0.5 s averaged): inside every window (away from its zero-padded edges)
the windowed prediction equals the contiguous pass of its phase to 1e-5 of the noise scale.
"""

import numpy as np
import pytest
import torch

from deepclean.utils.frames.span import read_span
from deepclean.utils.nn.architecture import DeepCleanAE
from deepclean.utils.nn.inference import predict_noise, torch_predictor, warmup_samples
from deepclean.utils.streaming import (
    EDGE_LEFT,
    EDGE_RIGHT,
    NETWORK_STRIDE,
    Snapshotter,
    StreamGeometry,
    StreamMode,
)
from deepclean.utils.training.artifacts import load_model
from tests.services.trainer.sim_helpers import GPS, IFO, TINY_TRAIN, flags, run_cli, simulate


def _random_network(witnesses: int) -> DeepCleanAE:
    torch.manual_seed(witnesses)
    net = DeepCleanAE(witnesses).double().eval()
    for module in net.modules():
        if isinstance(
            module, torch.nn.BatchNorm1d
        ):  # not the identity statistics of a fresh network
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
    return net


@pytest.mark.parametrize("witnesses", [2, 21])
@pytest.mark.parametrize(("length", "offset"), [(512, 256), (1024, 512), (1216, 320)])
def test_receptive_field_edges_are_measured(witnesses: int, length: int, offset: int) -> None:
    net = _random_network(witnesses)
    x = torch.randn(
        1, witnesses, 2048, dtype=torch.float64, generator=torch.Generator().manual_seed(length)
    )
    with torch.inference_mode():
        whole = net(x)[0]
        part = net(x[:, :, offset : offset + length])[0]
    changed = np.flatnonzero((part - whole[offset : offset + length]).abs().numpy() > 1e-12)
    assert changed.min() == 0 and changed.max() == length - 1
    left, right = changed[changed < length // 2], changed[changed >= length // 2]
    assert (left.max() + 1, length - right.min()) == (EDGE_LEFT, EDGE_RIGHT)
    assert len(changed) == EDGE_LEFT + EDGE_RIGHT  # nothing in between changes


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small DeepClean trained on simulated frames, and 12 s of later witnesses at 4096 Hz."""
    root = tmp_path_factory.mktemp("modes")
    data, model_dir = simulate(root / "data", 80), root / "model"
    tiny = {**TINY_TRAIN, "max_steps": 12, "max_epochs": 4}
    assert (
        run_cli(
            [
                "train",
                "--data-dir",
                str(data),
                "--ifo",
                IFO,
                "--channels",
                str(data / "channels.txt"),
                "--start",
                str(GPS),
                "--duration",
                "60",
                "--output-dir",
                str(model_dir),
                *flags(tiny),
            ]
        )
        == 0
    )
    model, meta = load_model(model_dir)
    span = read_span(data, IFO, meta.channels, GPS + 64, 12, 4096.0)
    return model.eval(), span.data[1:].astype(np.float32)


def _production(mode: StreamMode) -> StreamGeometry:
    return StreamGeometry.from_seconds(
        kernel_length=1.0,
        stride_length=1 / 512,
        sample_rate=4096.0,
        batch_size=128,
        max_latency=0.5,
        mode=mode,
    )


@pytest.mark.slow
def test_windows_equal_the_contiguous_pass_of_their_phase_inside(trained) -> None:
    model, witnesses = trained
    g = _production(StreamMode.WINDOWED)
    predict = torch_predictor(model)
    x = witnesses[:, : 4 * g.update_size]
    # one pass over the whole (zero-prefixed) stretch per phase, as the contiguous mode computes it
    # (zeros after the stretch keep the passes' own right edge beyond the windows' interiors)
    prefix = g.kernel_size  # the snapshotter's zeros before the stream, a multiple of 16
    extended = np.concatenate(
        [
            np.zeros((x.shape[0], prefix), np.float32),
            x,
            np.zeros((x.shape[0], 2 * EDGE_RIGHT), np.float32),
        ],
        axis=1,
    )
    passes = {
        r: predict(extended[None, :, r : r + (extended.shape[1] - 16) // 16 * 16])[0]
        for r in (0, 8)
    }
    scale = float(np.std(passes[0][prefix : prefix + x.shape[1]]))
    assert scale > 0
    snapshotter, worst, interior = (
        Snapshotter(x.shape[0], g),
        0.0,
        slice(EDGE_LEFT, g.kernel_size - EDGE_RIGHT),
    )
    for u in range(4):
        windows = snapshotter.update(x[:, u * g.update_size : (u + 1) * g.update_size])
        predictions = predict(windows)
        for i, window in enumerate(predictions):
            start = prefix + u * g.update_size + (i + 1) * g.stride - g.kernel_size  # in `extended`
            phase = start % NETWORK_STRIDE
            reference = passes[phase][start - phase : start - phase + g.kernel_size]
            worst = max(worst, float(np.abs(window[interior] - reference[interior]).max()))
    print(
        f"\nlargest interior difference windowed vs contiguous pass: {worst / scale:.2e} "
        "of the noise std"
    )
    assert worst <= 1e-5 * scale


@pytest.mark.slow
def test_contiguous_stream_against_windowed_stream(trained) -> None:
    """The whole averaged streams differ only by the windows' edge samples inside the averages."""
    model, witnesses = trained
    windowed, contiguous = _production(StreamMode.WINDOWED), _production(StreamMode.CONTIGUOUS)
    a = predict_noise(model, witnesses, windowed)
    b = predict_noise(model, witnesses, contiguous)
    skip = warmup_samples(windowed)
    n = min(len(a), len(b))
    a, b = a[skip:n], b[skip:n]
    scale = float(np.std(a))
    rms, peak = float(np.sqrt(np.mean((a - b) ** 2))) / scale, float(np.abs(a - b).max()) / scale
    print(
        f"\nwhole stream, contiguous vs windowed: rms difference {rms:.2e}, largest "
        f"{peak:.2e} of the noise std "
        f"({len(a)} samples)"
    )
    assert rms < 0.05 and np.corrcoef(a, b)[0, 1] > 0.99


def test_settings_refuse_a_contiguous_lag_longer_than_the_kernel() -> None:
    from pydantic import ValidationError

    from deepclean.services.offline.settings import OfflineSettings

    with pytest.raises(
        ValidationError, match=r"stream_mode contiguous lags by 104 samples .* >= 0.0253906 s"
    ):
        OfflineSettings(
            inference_kernel_length=1 / 64,
            inference_sampling_rate=512,
            max_latency=1 / 128,
            stream_mode="contiguous",
        )
    assert OfflineSettings(stream_mode="contiguous").stream_mode is StreamMode.CONTIGUOUS
