import numpy as np
import pytest
import torch

from deepclean.utils.nn import StandardScaler


def test_round_trip_multichannel():
    rng = np.random.default_rng(0)
    data = rng.normal(loc=[[1.0], [-4.0], [1e3]], scale=[[2.0], [0.5], [10.0]], size=(3, 5000))
    scaler = StandardScaler(3).fit(data)
    np.testing.assert_allclose(scaler.mean.numpy()[:, 0], data.mean(axis=1))
    np.testing.assert_allclose(scaler.std.numpy()[:, 0], data.std(axis=1))
    x = torch.as_tensor(data[None])  # (batch=1, W, T)
    z = scaler(x)
    np.testing.assert_allclose(z.mean(dim=-1).numpy(), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(dim=-1, unbiased=False).numpy(), 1, atol=1e-12)
    np.testing.assert_allclose(scaler.inverse(z).numpy(), data[None], rtol=1e-12)


def test_round_trip_strain_float32():
    rng = np.random.default_rng(1)
    strain = rng.normal(scale=3e-21, size=4096) + 1e-22
    scaler = StandardScaler(0).fit(strain)
    z = scaler(torch.as_tensor(strain, dtype=torch.float32))
    assert torch.isfinite(z).all()
    np.testing.assert_allclose(z.std().item(), 1, rtol=1e-3)
    back = scaler.inverse(z).double().numpy()
    np.testing.assert_allclose(back, strain, rtol=1e-5, atol=1e-26)


@pytest.mark.parametrize("value", [0.0, 7.5], ids=["zeros", "constant"])
def test_zero_variance_witness_gives_no_nan(value):
    data = np.stack([np.random.default_rng(2).normal(size=100), np.full(100, value)])
    scaler = StandardScaler(2).fit(data)
    z = scaler(torch.as_tensor(data, dtype=torch.float32)[None])
    assert torch.isfinite(z).all()
    assert torch.all(z[0, 1] == 0)
    assert scaler.std[1, 0] == 1.0


@pytest.mark.parametrize(
    "channels, shape, match",
    [(2, (3, 10), r"shape \(3, 10\); expected \(2, time\)"), (0, (2, 10), r"expected \(time,\)")],
    ids=["wrong-channels", "target-2d"],
)
def test_fit_shape_errors(channels, shape, match):
    with pytest.raises(ValueError, match=match):
        StandardScaler(channels).fit(np.zeros(shape))


def test_fit_rejects_nan():
    with pytest.raises(ValueError, match="finite"):
        StandardScaler(0).fit(np.array([1.0, np.nan, 2.0]))
