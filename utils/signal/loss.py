"""The DeepClean training loss.

``loss = alpha * mean_band sqrt(PSD(y - y_hat) / PSD(y)) + (1 - alpha) * MSE(y, y_hat)``

with Welch PSDs (Hann, ``fftlength`` s segments overlapping by ``overlap`` s, defaults 2 s
and 1 s), the mean taken over the frequency bins inside the band(s) and over the batch.
``alpha = 1`` (the original's default) is the pure PSD loss. Feed it the target in
standard units (the target scaler's output), not raw strain: float32 PSDs of 1e-21 strain
(1e-42 / Hz) underflow. The ratio is scale invariant, so this changes nothing else; the
denominator is also floored at the smallest normal float to rule out division by zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from deepclean.utils.signal.filters import band_mask, check_bands
from deepclean.utils.signal.psd import welch, welch_frequencies

_RATIO_FLOOR = 1e-12  #: keeps sqrt differentiable at a perfect prediction


class DeepCleanLoss(nn.Module):
    """PSD-ratio loss over the cleaning band(s), optionally mixed with MSE.

    Args:
        sample_rate: Hz.
        bands: ``(low, high)`` pairs in Hz.
        fftlength: Welch segment length, seconds (default 2).
        overlap: Welch overlap, seconds (default 1).
        alpha: weight of the PSD term in [0, 1]; ``1 - alpha`` weights the MSE (default 1).
    """

    def __init__(
        self,
        sample_rate: float,
        bands: Sequence[tuple[float, float]],
        fftlength: float = 2.0,
        overlap: float = 1.0,
        alpha: float = 1.0,
    ) -> None:
        super().__init__()
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"loss alpha is {alpha}; it must lie in [0, 1] (1 = PSD loss only)")
        check_bands(list(bands), sample_rate)
        self.sample_rate = float(sample_rate)
        self.fftlength = float(fftlength)
        self.overlap = float(overlap)
        self.alpha = float(alpha)
        freqs = welch_frequencies(sample_rate, fftlength).numpy()
        mask = band_mask(freqs, bands)
        if not mask.any():
            raise ValueError(
                f"no Welch frequency bin (resolution {1 / fftlength} Hz) falls inside "
                f"bands {list(bands)}; "
                "use a longer fftlength"
            )
        self.register_buffer("mask", torch.as_tensor(mask), persistent=False)

    def psd_ratio(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """sqrt(PSD(target - pred) / PSD(target)) at each in-band bin, ``(batch, bins)``."""
        psd_res = welch(target - pred, self.sample_rate, self.fftlength, self.overlap)[
            ..., self.mask
        ]
        psd_target = welch(target, self.sample_rate, self.fftlength, self.overlap)[..., self.mask]
        ratio = psd_res / psd_target.clamp_min(torch.finfo(psd_target.dtype).tiny)
        return torch.sqrt(ratio.clamp_min(_RATIO_FLOOR))

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Scalar loss for ``pred`` and ``target`` of shape ``(batch, time)``."""
        if pred.shape != target.shape:
            raise ValueError(
                f"prediction shape {tuple(pred.shape)} differs from target shape "
                f"{tuple(target.shape)}"
            )
        loss = pred.new_zeros(())
        if self.alpha > 0:
            loss = loss + self.alpha * self.psd_ratio(pred, target).mean()
        if self.alpha < 1:
            loss = loss + (1 - self.alpha) * torch.mean((target - pred) ** 2)
        return loss
