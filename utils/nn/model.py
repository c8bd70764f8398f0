"""The exported DeepClean model: raw witnesses in, noise in strain units out.

``DeepCleanModel(W)`` wraps :class:`DeepCleanAE` between a witness scaler and a target
scaler: ``noise = target_scaler.inverse(network(witness_scaler(x)))``. Its state dict
(``weights.pt``) holds the network weights and both scalers' statistics, so a deployed
model needs nothing else. Training works on the network alone in standard units
(``model.network``), which keeps losses and gradients of order 1.
"""

from __future__ import annotations

import torch
from torch import nn

from deepclean.utils.nn.architecture import DeepCleanAE
from deepclean.utils.nn.scaler import StandardScaler


class DeepCleanModel(nn.Module):
    """Scalers + network. Input ``(batch, W, T)`` raw witnesses; output ``(batch, T)`` noise.

    Args:
        num_witnesses: witness channels ``W``.
    """

    def __init__(self, num_witnesses: int) -> None:
        super().__init__()
        self.num_witnesses = num_witnesses
        self.witness_scaler = StandardScaler(num_witnesses)
        self.target_scaler = StandardScaler(0)
        self.network = DeepCleanAE(num_witnesses)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.target_scaler.inverse(self.network(self.witness_scaler(x)))


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters (buffers such as scaler statistics excluded)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
