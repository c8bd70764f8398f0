"""Turn a span of strain and witnesses into standardised training windows.

Steps:

1. analysis-ready segments, split into train and validation (``gating``);
2. the strain target band-passed to the cleaning band(s) segment by segment (zero-phase
   Butterworth; the filter never crosses a gap);
3. witness scaler fitted on the raw witnesses, target scaler on the band-passed strain,
   both on the *training* samples only. Fitting the target scaler after the band-pass puts
   the in-band noise at unit scale: the strain's raw variance is dominated by
   low-frequency noise many orders of magnitude above the band, which would leave the
   network an output of ~1e-4 to learn;
4. window start indices: training windows every ``kernel_stride`` samples, validation
   windows back to back.

Arrays are kept once, as float32, and batches are gathered from them on demand.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from deepclean.utils.errors import TrainingError
from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.signal.filters import BandpassFilter
from deepclean.utils.training import gating


@dataclass(frozen=True)
class WindowSpec:
    """Training window geometry, in samples."""

    kernel_size: int  #: samples per training window
    stride: int  #: samples between consecutive training windows

    @classmethod
    def from_seconds(
        cls, kernel_length: float, kernel_stride: float, sample_rate: float
    ) -> WindowSpec:
        kernel_size = int(round(kernel_length * sample_rate))
        stride = int(round(kernel_stride * sample_rate))
        if kernel_size < 16 or kernel_size % 16:
            raise ValueError(
                f"kernel_length {kernel_length} s is {kernel_size} samples at {sample_rate} Hz; "
                "it must be a positive multiple of 16 samples"
            )
        if stride < 1:
            raise ValueError(
                f"kernel_stride {kernel_stride} s is less than one sample at {sample_rate} Hz"
            )
        return cls(kernel_size, stride)


@dataclass
class PreparedData:
    """Standardised arrays and window indices, ready for batching."""

    witnesses: np.ndarray  #: (W, N) float32, standard units
    target: np.ndarray  #: (N,) float32, standard units, band-passed (zero outside ready segments)
    train_segments: list[gating.Segment]
    valid_segments: list[gating.Segment]
    train_starts: np.ndarray  #: start indices of training windows
    valid_starts: np.ndarray  #: start indices of validation windows
    kernel_size: int  #: samples per window

    def batches(
        self, starts: np.ndarray, batch_size: int, rng: np.random.Generator | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield ``(witnesses (B, W, K), target (B, K))`` tensors; shuffled when ``rng`` is
        given."""
        order = rng.permutation(len(starts)) if rng is not None else np.arange(len(starts))
        offsets = np.arange(self.kernel_size)
        for i in range(0, len(order), batch_size):
            idx = starts[order[i : i + batch_size], None] + offsets  # (B, K)
            x = np.ascontiguousarray(self.witnesses[:, idx].transpose(1, 0, 2))
            yield torch.from_numpy(x), torch.from_numpy(self.target[idx])


def _check_windows(
    train_starts: np.ndarray,
    valid_starts: np.ndarray,
    segments: list[tuple[int, int]],
    window: WindowSpec,
    sample_rate: float,
    valid_frac: float,
) -> None:
    """TrainingError unless a training window (and, with ``valid_frac``, a validation one) fits."""
    seconds = gating.total_samples(segments) / sample_rate
    if len(train_starts) == 0:
        raise TrainingError(
            f"no training window of {window.kernel_size / sample_rate} s fits in the "
            f"{seconds} s of "
            "analysis-ready data; give a longer span or a shorter kernel_length"
        )
    if valid_frac > 0 and len(valid_starts) == 0:
        raise TrainingError(
            f"no validation window of {window.kernel_size / sample_rate} s fits in the "
            f"last {valid_frac} of the "
            f"{seconds} s of analysis-ready data; give a longer span or a larger valid_frac"
        )


def prepare(
    model: DeepCleanModel,
    strain: np.ndarray,
    witnesses: np.ndarray,
    ready: np.ndarray,
    *,
    sample_rate: float,
    bands: Sequence[tuple[float, float]],
    window: WindowSpec,
    valid_frac: float,
    min_valid_samples: int = 0,
) -> PreparedData:
    """Fit ``model``'s scalers on the training part and build :class:`PreparedData`.

    Args:
        model: its ``witness_scaler`` and ``target_scaler`` are fitted here.
        strain: ``(N,)`` raw strain.
        witnesses: ``(W, N)`` raw witnesses, same samples as ``strain``.
        ready: ``(N,)`` analysis-ready mask.
        sample_rate: Hz.
        bands: cleaning band(s), Hz.
        window: training window geometry.
        valid_frac: fraction of the ready samples (the last ones) used for validation.
        min_valid_samples: validation segments shorter than this are not used (e.g. the
            Welch segment length of the loss).

    Raises:
        TrainingError: no training window or no validation window fits in the ready data.
    """
    strain, witnesses = np.asarray(strain), np.asarray(witnesses)
    _check_shapes(model, strain, witnesses, ready)
    segments = gating.ready_segments(ready, min_samples=window.kernel_size)
    train_seg, valid_seg = gating.split_segments(segments, valid_frac)
    valid_seg = [
        (a, b) for a, b in valid_seg if b - a >= max(window.kernel_size, min_valid_samples)
    ]
    train_starts = gating.window_starts(train_seg, window.kernel_size, window.stride)
    valid_starts = gating.window_starts(valid_seg, window.kernel_size, window.kernel_size)
    _check_windows(train_starts, valid_starts, segments, window, sample_rate, valid_frac)
    scaled_w, target = _fit_and_scale(
        model, strain, witnesses, train_seg, valid_seg, BandpassFilter(tuple(bands), sample_rate)
    )
    return PreparedData(
        witnesses=scaled_w,
        target=target,
        train_segments=train_seg,
        valid_segments=valid_seg,
        train_starts=train_starts,
        valid_starts=valid_starts,
        kernel_size=window.kernel_size,
    )


def _check_shapes(
    model: DeepCleanModel, strain: np.ndarray, witnesses: np.ndarray, ready: np.ndarray
) -> None:
    n = strain.shape[-1]
    if (
        strain.ndim != 1
        or witnesses.ndim != 2
        or witnesses.shape[1] != n
        or np.shape(ready) != (n,)
    ):
        raise ValueError(
            f"strain {strain.shape}, witnesses {witnesses.shape} and ready "
            f"{np.shape(ready)} must be "
            "(N,), (W, N) and (N,) over the same samples"
        )
    if witnesses.shape[0] != model.num_witnesses:
        raise ValueError(
            f"model expects {model.num_witnesses} witnesses, data has {witnesses.shape[0]}"
        )


def _fit_and_scale(
    model: DeepCleanModel,
    strain: np.ndarray,
    witnesses: np.ndarray,
    train_seg: list[gating.Segment],
    valid_seg: list[gating.Segment],
    bandpass: BandpassFilter,
) -> tuple[np.ndarray, np.ndarray]:
    """Band-pass the target segment by segment (the filter never crosses a gap), fit the
    scalers on the training part, and return the scaled witnesses ``(W, N)`` and target
    ``(N,)`` (float32; zero outside the segments)."""
    n = strain.shape[-1]
    target64 = np.zeros(n, dtype=np.float64)
    for a, b in train_seg + valid_seg:  # segment by segment: the filter never crosses a gap
        target64[a:b] = bandpass(np.asarray(strain[a:b], dtype=np.float64))
    if len(train_seg) == 1:  # views, no copies of the span
        ((a, b),) = train_seg
        model.witness_scaler.fit(witnesses[:, a:b])
        model.target_scaler.fit(target64[a:b])
    else:
        model.witness_scaler.fit(np.concatenate([witnesses[:, a:b] for a, b in train_seg], axis=1))
        model.target_scaler.fit(np.concatenate([target64[a:b] for a, b in train_seg]))
    w_mean, w_std = model.witness_scaler.mean.numpy(), model.witness_scaler.std.numpy()
    scaled_w = np.empty(witnesses.shape, dtype=np.float32)
    for i in range(witnesses.shape[0]):  # channel by channel: no float64 copy of the whole span
        scaled_w[i] = (witnesses[i] - w_mean[i]) / w_std[i]
    mean, std = float(model.target_scaler.mean), float(model.target_scaler.std)
    target = ((target64 - mean) / std).astype(np.float32)
    target[~_inside(n, train_seg + valid_seg)] = 0.0
    return scaled_w, target


def _inside(n: int, segments: list[gating.Segment]) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for a, b in segments:
        mask[a:b] = True
    return mask
