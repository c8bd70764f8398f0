"""The published DeepClean 1-D convolutional autoencoder (Ormiston et al. 2020; deepclean-prod).

Layout for ``W`` witness channels and ``T`` samples (T a multiple of 16):

- input: Conv1d W->W, kernel 7, stride 1, padding 3, BatchNorm1d, ELU;
- down path: Conv1d W->8->16->32->64, kernel 7, stride 2, padding 3, each BatchNorm1d + ELU;
- up path: ConvTranspose1d 64->32->16->8->W, kernel 7, stride 2, padding 3, output padding 1,
  each BatchNorm1d + ELU;
- output: Conv1d W->1, kernel 7, padding 3, no normalisation or activation.

About 44k parameters for W = 21. Works in standardised units; see ``model.py`` for scaling.
"""

from __future__ import annotations

import torch
from torch import nn

KERNEL_SIZE = 7  #: samples, every convolution
DOWN_CHANNELS = (8, 16, 32, 64)  #: channels after each stride-2 down-sampling stage
TIME_MULTIPLE = 2 ** len(DOWN_CHANNELS)  #: T must be a multiple of this (16)


class TimeLengthError(ValueError):
    """The time axis of an input is not a multiple of :data:`TIME_MULTIPLE` samples."""


def check_time_length(num_samples: int) -> None:
    """Raise :class:`TimeLengthError` unless ``num_samples`` is a positive multiple of 16."""
    if num_samples <= 0 or num_samples % TIME_MULTIPLE:
        raise TimeLengthError(
            f"DeepClean input has {num_samples} samples on its time axis; it must be a positive "
            f"multiple of {TIME_MULTIPLE} (four stride-2 stages), e.g. "
            f"{max(TIME_MULTIPLE, num_samples // TIME_MULTIPLE * TIME_MULTIPLE)}"
        )


def _block(conv: nn.Module, channels: int) -> nn.Sequential:
    return nn.Sequential(conv, nn.BatchNorm1d(channels), nn.ELU())


class DeepCleanAE(nn.Module):
    """DeepClean autoencoder: ``(batch, W, T)`` standardised witnesses -> ``(batch, T)``.

    Args:
        num_witnesses: number of witness channels ``W`` (>= 1).
    """

    def __init__(self, num_witnesses: int) -> None:
        super().__init__()
        if num_witnesses < 1:
            raise ValueError(
                f"num_witnesses is {num_witnesses}; DeepClean needs at least 1 witness channel"
            )
        self.num_witnesses = num_witnesses
        w = num_witnesses
        self.input_conv = _block(nn.Conv1d(w, w, KERNEL_SIZE, stride=1, padding=3), w)
        down, prev = [], w
        for ch in DOWN_CHANNELS:
            down.append(_block(nn.Conv1d(prev, ch, KERNEL_SIZE, stride=2, padding=3), ch))
            prev = ch
        self.downsampler = nn.Sequential(*down)
        up = []
        for ch in (*DOWN_CHANNELS[-2::-1], w):
            up.append(
                _block(
                    nn.ConvTranspose1d(
                        prev, ch, KERNEL_SIZE, stride=2, padding=3, output_padding=1
                    ),
                    ch,
                )
            )
            prev = ch
        self.upsampler = nn.Sequential(*up)
        self.output_conv = nn.Conv1d(w, 1, KERNEL_SIZE, stride=1, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[1] != self.num_witnesses:
            raise ValueError(
                f"DeepClean input has shape {tuple(x.shape)}; expected (batch, "
                f"{self.num_witnesses}, time)"
            )
        if not torch.jit.is_tracing() and not torch.compiler.is_compiling():
            check_time_length(int(x.shape[-1]))
        x = self.input_conv(x)
        x = self.downsampler(x)
        x = self.upsampler(x)
        x = self.output_conv(x)
        return x[:, 0, :]
