import numpy as np
import pytest
from scipy import signal

from deepclean.utils.errors import TrainingError
from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.training.dataset import WindowSpec, prepare

from .synthetic_span import FS, make_span

BAND = [(58.0, 62.0)]


def _prepare(span, **kwargs):
    model = DeepCleanModel(span.data.shape[0] - 1)
    args = dict(
        sample_rate=FS, bands=BAND, window=WindowSpec.from_seconds(2.0, 1.0, FS), valid_frac=0.25
    )
    args.update(kwargs)
    return model, prepare(model, span.data[0], span.data[1:], span.ready, **args)


def test_scalers_fit_on_training_part_and_target_is_bandpassed(tiny_span):
    model, data = _prepare(tiny_span)
    ((a, b),) = data.train_segments
    assert (a, b) == (0, int(0.75 * tiny_span.data.shape[1]))
    np.testing.assert_allclose(
        model.witness_scaler.mean.numpy()[:, 0], tiny_span.data[1:, a:b].mean(axis=1)
    )
    np.testing.assert_allclose(
        model.witness_scaler.std.numpy()[:, 0], tiny_span.data[1:, a:b].std(axis=1)
    )
    sos = signal.butter(8, BAND[0], btype="bandpass", fs=FS, output="sos")
    expected = signal.sosfiltfilt(sos, tiny_span.data[0, a:b])
    assert float(model.target_scaler.std) == pytest.approx(expected.std())
    scaled = (expected - expected.mean()) / expected.std()
    np.testing.assert_allclose(data.target[a:b], scaled, atol=1e-5)
    np.testing.assert_allclose(data.target[a:b].std(), 1.0, rtol=1e-5)
    np.testing.assert_allclose(data.witnesses[:, a:b].std(axis=1), 1.0, rtol=1e-4)


def test_non_ready_stretch_splits_windows_and_filter():
    n = int(96 * FS)
    ready = np.ones(n, dtype=bool)
    gap = slice(int(30 * FS), int(35 * FS))
    ready[gap] = False
    span = make_span(ready=ready)
    span.data[:, gap] = 1e6  # junk in the non-ready stretch must not leak anywhere
    model, data = _prepare(span)
    assert data.train_segments[0] == (0, int(30 * FS))
    assert np.all(data.target[gap] == 0)
    assert (
        np.all(np.isfinite(model.witness_scaler.std.numpy()))
        and model.witness_scaler.std.max() < 10
    )
    k = data.kernel_size
    for s in np.concatenate([data.train_starts, data.valid_starts]):
        assert not ready[s : s + k].sum() < k
    # the target near the gap equals the band-pass of its own segment only
    sos = signal.butter(8, BAND[0], btype="bandpass", fs=FS, output="sos")
    first = signal.sosfiltfilt(sos, span.data[0, : int(30 * FS)])
    np.testing.assert_allclose(
        data.target[: int(30 * FS)],
        (first - float(model.target_scaler.mean)) / float(model.target_scaler.std),
        atol=1e-4,
    )


def test_batches_shapes_and_content(tiny_span):
    _, data = _prepare(tiny_span)
    x, y = next(data.batches(data.train_starts, 4, np.random.default_rng(0)))
    assert x.shape == (4, 3, data.kernel_size) and y.shape == (4, data.kernel_size)
    first = next(data.batches(data.train_starts[:1], 1))
    s = data.train_starts[0]
    np.testing.assert_array_equal(first[0][0].numpy(), data.witnesses[:, s : s + data.kernel_size])
    assert len(data.valid_starts) == 24 // 2  # back-to-back 2 s windows in the last 24 s


def test_no_window_fits():
    ready = np.zeros(int(96 * FS), dtype=bool)
    ready[:100] = True
    with pytest.raises(
        TrainingError, match=r"no training window of 2.0 s fits in the 0.0 s of analysis-ready data"
    ):
        _prepare(make_span(ready=ready))


@pytest.mark.parametrize(
    "kernel, match", [(0.05, "multiple of 16"), (2.01, "multiple of 16")], ids=["short", "odd"]
)
def test_window_spec_errors(kernel, match):
    with pytest.raises(ValueError, match=match):
        WindowSpec.from_seconds(kernel, 1.0, FS)
