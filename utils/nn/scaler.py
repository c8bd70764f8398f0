"""Per-channel standardisation as a torch module whose statistics live in its state dict.

``forward`` maps raw values to standard units, ``(x - mean) / std``; ``inverse`` maps back.
The statistics are fitted once on training data (numpy, float64) and stored as float64
buffers so that strain of magnitude 1e-21 keeps full precision; the arithmetic casts them to
the input's dtype, where ``std`` of ~1e-21 is still a normal float32 number.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

#: a channel whose standard deviation is at most this fraction of its mean magnitude (or
#: exactly 0) is treated as constant: its std is set to 1 so it maps to ~0, never NaN/Inf
RELATIVE_STD_FLOOR = 1e-12


class StandardScaler(nn.Module):
    """Standardise ``num_channels`` channels along the last axis.

    Args:
        num_channels: channels (the axis before time); 0 means a single channel with no
            channel axis (input ``(..., time)``), as for the strain target.
    """

    def __init__(self, num_channels: int = 0) -> None:
        super().__init__()
        shape = (num_channels, 1) if num_channels else (1,)
        self.num_channels = num_channels
        self.register_buffer("mean", torch.zeros(shape, dtype=torch.float64))
        self.register_buffer("std", torch.ones(shape, dtype=torch.float64))

    def fit(self, x: np.ndarray) -> StandardScaler:
        """Fit on ``x``: ``(num_channels, time)`` or ``(time,)`` when ``num_channels`` is 0."""
        x = np.asarray(x, dtype=np.float64)
        expected = 2 if self.num_channels else 1
        if x.ndim != expected or (self.num_channels and x.shape[0] != self.num_channels):
            want = f"({self.num_channels}, time)" if self.num_channels else "(time,)"
            raise ValueError(f"scaler fit data has shape {x.shape}; expected {want}")
        if x.shape[-1] < 2 or not np.all(np.isfinite(x)):
            raise ValueError(
                f"scaler fit data with shape {x.shape} must hold >= 2 finite samples per channel"
            )
        mean = x.mean(axis=-1, keepdims=bool(self.num_channels))
        std = x.std(axis=-1, keepdims=bool(self.num_channels))
        constant = std <= RELATIVE_STD_FLOOR * np.abs(mean)
        constant |= std == 0
        std = np.where(constant, 1.0, std)
        self.mean.copy_(torch.as_tensor(np.reshape(mean, self.mean.shape)))
        self.std.copy_(torch.as_tensor(np.reshape(std, self.std.shape)))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std.to(x.dtype) + self.mean.to(x.dtype)

    def statistics(self) -> dict[str, list[float]]:
        """``{"mean": [...], "std": [...]}`` as plain floats (for metadata.json)."""
        return {"mean": self.mean.flatten().tolist(), "std": self.std.flatten().tolist()}
