"""Small torch modules for the export library tests."""

from __future__ import annotations

import torch
from torch import nn

WITNESSES = 3  #: channels of the small conv net
SAMPLES = 64  #: samples per window of the small conv net


class SmallConvNet(nn.Module):
    """DeepClean's layer types in miniature: Conv1d, ConvTranspose1d, BatchNorm1d, ELU.

    Input ``(batch, WITNESSES, SAMPLES)``, output ``(batch, SAMPLES)``.
    """

    def __init__(self, witnesses: int = WITNESSES) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(witnesses, 8, 7, stride=2, padding=3),
            nn.BatchNorm1d(8),
            nn.ELU(),
            nn.ConvTranspose1d(8, witnesses, 7, stride=2, padding=3, output_padding=1),
            nn.BatchNorm1d(witnesses),
            nn.ELU(),
            nn.Conv1d(witnesses, 1, 7, padding=3),
        )
        generator = torch.Generator().manual_seed(0)
        for module in self.net:
            if isinstance(module, nn.BatchNorm1d):  # non-trivial running statistics
                module.running_mean.copy_(torch.randn(module.num_features, generator=generator))
                module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[:, 0]
