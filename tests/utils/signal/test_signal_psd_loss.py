import numpy as np
import pytest
import torch
from scipy import signal

from deepclean.utils.signal.loss import DeepCleanLoss
from deepclean.utils.signal.psd import welch, welch_frequencies

FS = 256.0


@pytest.mark.parametrize(
    "fftlength, overlap", [(2.0, 1.0), (1.0, 0.0), (0.5, 0.25)], ids=["2s-1s", "1s-none", "short"]
)
def test_welch_matches_scipy(fftlength, overlap):
    x = np.random.default_rng(0).normal(size=(3, 8 * int(FS)))
    nperseg = int(fftlength * FS)
    _, expected = signal.welch(
        x, fs=FS, window="hann", nperseg=nperseg, noverlap=int(overlap * FS), detrend=False, axis=-1
    )
    got = welch(torch.as_tensor(x), FS, fftlength, overlap).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-14)
    freqs, _ = signal.welch(x[0], fs=FS, nperseg=nperseg)
    np.testing.assert_allclose(welch_frequencies(FS, fftlength).numpy(), freqs)


def test_welch_too_short():
    with pytest.raises(
        ValueError, match=r"Number of samples 100 .* insufficient for fftlength 2.0 s \(512 samples"
    ):
        welch(torch.zeros(100), FS, 2.0, 1.0)


def _band_noise(rng, n, low, high):
    sos = signal.butter(8, [low, high], btype="bandpass", fs=FS, output="sos")
    return signal.sosfiltfilt(sos, rng.normal(size=n)).copy()


def test_loss_known_ratio():
    # prediction = (1 - g) * target -> residual = g * target -> sqrt ratio = g at every bin
    rng = np.random.default_rng(1)
    target = torch.as_tensor(_band_noise(rng, 16 * int(FS), 20, 40)[None])
    loss = DeepCleanLoss(FS, [(25, 35)])
    for g in (1.0, 0.5, 0.1):
        assert loss(target * (1 - g), target).item() == pytest.approx(g, rel=1e-6)


def test_loss_independent_residual():
    # residual of white noise with PSD r^2 * PSD(target) everywhere -> ratio ~ r
    rng = np.random.default_rng(2)
    target = torch.as_tensor(rng.normal(size=(4, 32 * int(FS))))
    residual = 0.3 * torch.as_tensor(rng.normal(size=(4, 32 * int(FS))))
    got = DeepCleanLoss(FS, [(20, 60)])(target - residual, target).item()
    assert got == pytest.approx(0.3, rel=0.05)


def test_loss_only_looks_in_band():
    rng = np.random.default_rng(3)
    target = torch.as_tensor(rng.normal(size=(1, 16 * int(FS))))
    out_of_band = torch.as_tensor(_band_noise(rng, 16 * int(FS), 80, 100)[None])
    loss = DeepCleanLoss(FS, [(20, 40)])
    assert loss(target + 10 * out_of_band, target).item() < 0.01


def test_loss_mse_mix():
    rng = np.random.default_rng(4)
    target = torch.as_tensor(rng.normal(size=(2, 8 * int(FS))))
    pred = 0.5 * target
    psd_only = DeepCleanLoss(FS, [(20, 40)], alpha=1.0)(pred, target).item()
    mse_only = DeepCleanLoss(FS, [(20, 40)], alpha=0.0)(pred, target).item()
    mixed = DeepCleanLoss(FS, [(20, 40)], alpha=0.25)(pred, target).item()
    assert mse_only == pytest.approx(torch.mean((target - pred) ** 2).item())
    assert mixed == pytest.approx(0.25 * psd_only + 0.75 * mse_only)


def test_loss_safe_for_strain_magnitude_in_float32():
    # standardised units are the intended input, but even 1e-21 strain must not give NaN
    rng = np.random.default_rng(5)
    target = torch.as_tensor(rng.normal(size=(2, 8 * int(FS))) * 1e-21, dtype=torch.float32)
    value = DeepCleanLoss(FS, [(20, 40)])(torch.zeros_like(target, requires_grad=True), target)
    assert torch.isfinite(value)


def test_loss_gradient_finite_at_perfect_prediction():
    target = torch.randn(1, 8 * int(FS))
    pred = target.clone().requires_grad_(True)
    DeepCleanLoss(FS, [(20, 40)])(pred, target).backward()
    assert torch.isfinite(pred.grad).all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"alpha": 1.5}, r"alpha is 1.5"),
        ({"bands": [(20.1, 20.2)], "fftlength": 1.0}, r"no Welch frequency bin"),
    ],
    ids=["alpha", "band-too-narrow"],
)
def test_loss_bad_settings(kwargs, match):
    args = {"sample_rate": FS, "bands": [(20, 40)], **kwargs}
    with pytest.raises(ValueError, match=match):
        DeepCleanLoss(**args)
