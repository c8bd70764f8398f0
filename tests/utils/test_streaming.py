"""The streaming arithmetic against a direct loop over windows (an independent oracle)."""

import numpy as np
import pytest

from deepclean.utils.streaming import (
    EDGE_LEFT,
    EDGE_RIGHT,
    NETWORK_STRIDE,
    OnlineAverager,
    Snapshotter,
    StreamGeometry,
    StreamMode,
    align,
    stream,
)


def toy_predict(windows: np.ndarray) -> np.ndarray:
    """A nonlinear function of each window that also depends on the position inside it."""
    k = windows.shape[-1]
    ramp = np.linspace(0.0, 1.0, k)
    return np.sin(windows[:, 0]) * windows[:, 1] + ramp * windows[:, 2].mean(-1, keepdims=True)


def direct_noise(x: np.ndarray, g: StreamGeometry) -> np.ndarray:
    """noise[t] = mean over the n windows ending in (t, t+L] of their prediction at t (zero-padded
    past)."""
    channels, total = x.shape
    padded = np.concatenate([np.zeros((channels, g.kernel_size)), x], axis=1)
    ends = np.arange(g.stride, total + 1, g.stride)
    preds = {int(e): toy_predict(padded[None, :, e : e + g.kernel_size])[0] for e in ends}
    out = np.zeros(total - g.lag_samples)
    for t in range(len(out)):
        acc = 0.0
        for e in range(t + 1, t + g.lag_samples + 1):
            if e % g.stride == 0:
                acc += preds[e][t - (e - g.kernel_size)]
        out[t] = acc / g.num_updates
    return out


GEOMETRIES = [
    pytest.param(
        StreamGeometry(kernel_size=64, stride=4, batch_size=4, num_updates=8), id="batch<updates"
    ),
    pytest.param(
        StreamGeometry(kernel_size=64, stride=8, batch_size=16, num_updates=2), id="batch>updates"
    ),
    pytest.param(
        StreamGeometry(kernel_size=32, stride=32, batch_size=1, num_updates=1), id="no-overlap"
    ),
    pytest.param(
        StreamGeometry(kernel_size=48, stride=6, batch_size=5, num_updates=8), id="lag=kernel"
    ),
]


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_stream_matches_direct_loop(geometry: StreamGeometry) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, geometry.update_size * 12))
    streamed = stream(x, toy_predict, geometry)
    assert streamed.shape == (x.shape[1],)
    np.testing.assert_allclose(
        align(streamed, geometry), direct_noise(x, geometry), rtol=1e-12, atol=1e-12
    )


def test_snapshotter_windows_are_the_last_kernel_of_the_stream() -> None:
    g = StreamGeometry(kernel_size=16, stride=4, batch_size=3, num_updates=2)
    x = np.arange(2 * g.update_size * 5, dtype=float).reshape(2, -1)
    snap = Snapshotter(2, g)
    for u in range(5):
        windows = snap.update(x[:, u * g.update_size : (u + 1) * g.update_size])
        for i in range(g.batch_size):
            end = u * g.update_size + (i + 1) * g.stride
            expected = np.zeros((2, g.kernel_size))
            seg = x[:, max(0, end - g.kernel_size) : end]
            expected[:, g.kernel_size - seg.shape[1] :] = seg
            np.testing.assert_array_equal(windows[i], expected)


def test_constant_prediction_averages_to_itself_after_warmup() -> None:
    g = StreamGeometry(kernel_size=32, stride=4, batch_size=8, num_updates=4)
    avg = OnlineAverager(g)
    outs = [avg.update(np.full((g.batch_size, g.kernel_size), 2.5)) for _ in range(4)]
    steady = np.concatenate(outs)[g.lag_samples :]
    np.testing.assert_allclose(steady, 2.5)


def test_float32_stays_float32() -> None:
    g = StreamGeometry(kernel_size=16, stride=4, batch_size=2, num_updates=2)
    out = stream(np.ones((1, 16), dtype=np.float32), lambda w: w[:, 0], g)
    assert out.dtype == np.float32


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param(
            dict(
                kernel_length=1.0,
                stride_length=0.3,
                sample_rate=10.0,
                batch_size=1,
                max_latency=0.5,
            ),
            "not a multiple",
            id="kernel-not-multiple",
        ),
        pytest.param(
            dict(
                kernel_length=1.0,
                stride_length=1 / 4096 * 1.5,
                sample_rate=4096.0,
                batch_size=1,
                max_latency=0.5,
            ),
            "whole number",
            id="fractional-stride",
        ),
        pytest.param(
            dict(
                kernel_length=1.0,
                stride_length=0.25,
                sample_rate=4096.0,
                batch_size=1,
                max_latency=0.1,
            ),
            "shorter than one stride",
            id="latency<stride",
        ),
        pytest.param(
            dict(
                kernel_length=1.0,
                stride_length=0.25,
                sample_rate=4096.0,
                batch_size=1,
                max_latency=2.0,
            ),
            "exceeds kernel_size",
            id="latency>kernel",
        ),
    ],
)
def test_geometry_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        StreamGeometry.from_seconds(**kwargs)


def test_production_geometry() -> None:
    g = StreamGeometry.from_seconds(
        kernel_length=1.0,
        stride_length=1 / 512,
        sample_rate=4096.0,
        batch_size=128,
        max_latency=0.5,
    )
    assert (g.kernel_size, g.stride, g.update_size, g.num_updates, g.lag_samples) == (
        4096,
        8,
        1024,
        256,
        2048,
    )


def test_update_shape_errors() -> None:
    g = StreamGeometry(kernel_size=16, stride=4, batch_size=2, num_updates=2)
    with pytest.raises(ValueError, match=r"expected \(channels, samples\) = \(3, 8\)"):
        Snapshotter(3, g).update(np.zeros((3, 7)))
    with pytest.raises(ValueError, match=r"expected \(batch, samples\) = \(2, 16\)"):
        OnlineAverager(g).update(np.zeros((3, 16)))


# ---------------------------------------------------------------------- contiguous mode


class ToyNetwork:
    """A stand-in for DeepClean with its structure: periodic in 16 samples relative to the start of
    its input, nonlinear, zero padding at the input's edges, reaching exactly EDGE_LEFT samples to
    the left and EDGE_RIGHT to the right (so the padding changes the first/last that many
    outputs)."""

    def __init__(self, channels: int, seed: int = 3) -> None:
        rng = np.random.default_rng(seed)
        self.mix = rng.normal(size=channels)
        self.taps = rng.normal(size=(NETWORK_STRIDE, EDGE_LEFT + EDGE_RIGHT + 1))

    def run(self, x: np.ndarray, residue: int = 0) -> np.ndarray:
        """``x`` (channels, N) -> (N,), the 16-periodic pattern aligned so index ``residue`` is its
        phase 0."""
        h = np.tanh(self.mix @ x) + 1.0  # zero input gives 1, the padding gives 0
        n = h.shape[-1]
        padded = np.concatenate([np.zeros(EDGE_LEFT), h, np.zeros(EDGE_RIGHT)])
        pattern = (np.arange(n) - residue) % NETWORK_STRIDE
        out = np.zeros(n)
        for k in range(EDGE_LEFT + EDGE_RIGHT + 1):
            out += self.taps[pattern, k] * padded[k : k + n]
        return out

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        return np.stack([self.run(item) for item in inputs])


CONTIGUOUS = [
    pytest.param(
        dict(kernel_length=1.0, stride_length=8 / 1024, sample_rate=1024.0, batch_size=32),
        id="stride8",
    ),
    pytest.param(
        dict(kernel_length=1.0, stride_length=4 / 1024, sample_rate=1024.0, batch_size=40),
        id="stride4",
    ),
    pytest.param(
        dict(kernel_length=1.0, stride_length=64 / 1024, sample_rate=1024.0, batch_size=2),
        id="stride64",
    ),
    pytest.param(
        dict(kernel_length=0.75, stride_length=24 / 1024, sample_rate=1024.0, batch_size=3),
        id="stride24",
    ),
]


@pytest.mark.parametrize("kwargs", CONTIGUOUS)
def test_contiguous_stream_is_the_phase_mean_of_whole_stream_passes(kwargs: dict) -> None:
    """Every emitted sample equals the mean over phases of one pass over the whole (zero-prefixed)
    stream: the lag and the kept history are enough, and no stretch edge leaks in."""
    g = StreamGeometry.from_seconds(**kwargs, max_latency=None, mode="contiguous")
    net = ToyNetwork(3)
    x = np.random.default_rng(2).normal(size=(3, g.update_size * 9))
    streamed = align(stream(x, net.predict, g), g)
    prefix = g.input_size + NETWORK_STRIDE  # the stream's zeros before its start, a multiple of 16
    extended = np.concatenate([np.zeros((3, prefix)), x], axis=1)
    residues = range(0, NETWORK_STRIDE, np.gcd(g.stride, NETWORK_STRIDE))
    direct = np.mean([net.run(extended, r) for r in residues], axis=0)[
        prefix : prefix + len(streamed)
    ]
    np.testing.assert_allclose(streamed, direct, rtol=1e-12, atol=1e-12)


def test_contiguous_lag_is_tight() -> None:
    """One sample less of lag would emit a sample the right-edge padding still changes."""
    g = StreamGeometry.from_seconds(
        kernel_length=1.0,
        stride_length=16 / 1024,
        sample_rate=1024.0,
        batch_size=8,
        max_latency=None,
        mode=StreamMode.CONTIGUOUS,
    )
    assert g.lag_samples == EDGE_RIGHT == StreamGeometry.min_lag(16)
    net = ToyNetwork(1)
    x = np.random.default_rng(4).normal(size=(1, 512))
    whole = net.run(x)
    cut = net.run(x[:, :256])
    assert np.all(cut[: 256 - EDGE_RIGHT] == pytest.approx(whole[: 256 - EDGE_RIGHT], rel=1e-12))
    assert cut[256 - EDGE_RIGHT] != pytest.approx(whole[256 - EDGE_RIGHT], rel=1e-6)


@pytest.mark.parametrize(
    ("stride", "batch", "lag", "phases", "input_size", "history"),
    [
        pytest.param(
            8, 128, 104, 2, 1216, 200, id="production"
        ),  # 1 s kernel, 512 windows/s at 4096 Hz
        pytest.param(128, 8, 128, 1, 1248, 224, id="cpu"),  # 32 windows/s
        pytest.param(4, 256, 108, 4, 1216, 204, id="stride4"),
    ],
)
def test_contiguous_geometry(
    stride: int, batch: int, lag: int, phases: int, input_size: int, history: int
) -> None:
    g = StreamGeometry.from_seconds(
        kernel_length=1.0,
        stride_length=stride / 4096,
        sample_rate=4096.0,
        batch_size=batch,
        max_latency=0.5,
        mode="contiguous",
    )
    assert (g.lag_samples, g.model_batch, g.input_size, g.history) == (
        lag,
        phases,
        input_size,
        history,
    )
    assert g.input_size % NETWORK_STRIDE == 0
    assert g.input_size >= g.update_size + g.lag_samples + EDGE_LEFT


def test_contiguous_snapshotter_stretches_end_at_the_phase_offsets() -> None:
    g = StreamGeometry.from_seconds(
        kernel_length=1.0,
        stride_length=8 / 1024,
        sample_rate=1024.0,
        batch_size=16,
        max_latency=None,
        mode="contiguous",
    )
    x = np.arange(2 * g.update_size * 3, dtype=float).reshape(2, -1)
    snap = Snapshotter(2, g)
    for u in range(3):
        stretches = snap.update(x[:, u * g.update_size : (u + 1) * g.update_size])
        assert stretches.shape == (2, 2, g.input_size)
        end = (u + 1) * g.update_size
        for j, offset in enumerate((0, 8)):
            expected = np.zeros((2, g.input_size))
            seg = x[:, max(0, end - offset - g.input_size) : end - offset]
            expected[:, g.input_size - seg.shape[1] :] = seg
            np.testing.assert_array_equal(stretches[j], expected)


def test_contiguous_errors() -> None:
    with pytest.raises(ValueError, match="shorter than the 104 samples"):
        StreamGeometry(
            kernel_size=4096, stride=8, batch_size=128, num_updates=12, mode="contiguous"
        )
    with pytest.raises(ValueError, match="not one of"):
        StreamGeometry(kernel_size=4096, stride=8, batch_size=128, num_updates=256, mode="sliding")
    with pytest.raises(ValueError, match="needs max_latency"):
        StreamGeometry.from_seconds(
            kernel_length=1.0,
            stride_length=1 / 512,
            sample_rate=4096.0,
            batch_size=1,
            max_latency=None,
        )
    g = StreamGeometry(
        kernel_size=4096, stride=8, batch_size=128, num_updates=13, mode="contiguous"
    )
    with pytest.raises(ValueError, match=r"expected \(batch, samples\) = \(2, 1216\)"):
        OnlineAverager(g).update(np.zeros((128, 4096)))
