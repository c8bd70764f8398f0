"""The streaming arithmetic against a direct loop over windows (an independent oracle)."""

import numpy as np
import pytest

from deepclean.utils.streaming import OnlineAverager, Snapshotter, StreamGeometry, align, stream


def toy_predict(windows: np.ndarray) -> np.ndarray:
    """A nonlinear function of each window that also depends on the position inside it."""
    k = windows.shape[-1]
    ramp = np.linspace(0.0, 1.0, k)
    return np.sin(windows[:, 0]) * windows[:, 1] + ramp * windows[:, 2].mean(-1, keepdims=True)


def direct_noise(x: np.ndarray, g: StreamGeometry) -> np.ndarray:
    """noise[t] = mean over the n windows ending in (t, t+L] of their prediction at t (zero-padded past)."""
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
    pytest.param(StreamGeometry(kernel_size=64, stride=4, batch_size=4, num_updates=8), id="batch<updates"),
    pytest.param(StreamGeometry(kernel_size=64, stride=8, batch_size=16, num_updates=2), id="batch>updates"),
    pytest.param(StreamGeometry(kernel_size=32, stride=32, batch_size=1, num_updates=1), id="no-overlap"),
    pytest.param(StreamGeometry(kernel_size=48, stride=6, batch_size=5, num_updates=8), id="lag=kernel"),
]


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_stream_matches_direct_loop(geometry: StreamGeometry) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, geometry.update_size * 12))
    streamed = stream(x, toy_predict, geometry)
    assert streamed.shape == (x.shape[1],)
    np.testing.assert_allclose(align(streamed, geometry), direct_noise(x, geometry), rtol=1e-12, atol=1e-12)


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
        pytest.param(dict(kernel_length=1.0, stride_length=0.3, sample_rate=10.0, batch_size=1, max_latency=0.5),
                     "not a multiple", id="kernel-not-multiple"),
        pytest.param(dict(kernel_length=1.0, stride_length=1 / 4096 * 1.5, sample_rate=4096.0, batch_size=1,
                          max_latency=0.5), "whole number", id="fractional-stride"),
        pytest.param(dict(kernel_length=1.0, stride_length=0.25, sample_rate=4096.0, batch_size=1,
                          max_latency=0.1), "shorter than one stride", id="latency<stride"),
        pytest.param(dict(kernel_length=1.0, stride_length=0.25, sample_rate=4096.0, batch_size=1,
                          max_latency=2.0), "exceeds kernel_size", id="latency>kernel"),
    ],
)
def test_geometry_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        StreamGeometry.from_seconds(**kwargs)


def test_production_geometry() -> None:
    g = StreamGeometry.from_seconds(kernel_length=1.0, stride_length=1 / 512, sample_rate=4096.0,
                                    batch_size=128, max_latency=0.5)
    assert (g.kernel_size, g.stride, g.update_size, g.num_updates, g.lag_samples) == (4096, 8, 1024, 256, 2048)


def test_update_shape_errors() -> None:
    g = StreamGeometry(kernel_size=16, stride=4, batch_size=2, num_updates=2)
    with pytest.raises(ValueError, match=r"expected \(channels, samples\) = \(3, 8\)"):
        Snapshotter(3, g).update(np.zeros((3, 7)))
    with pytest.raises(ValueError, match=r"expected \(batch, kernel\) = \(2, 16\)"):
        OnlineAverager(g).update(np.zeros((3, 16)))
