"""Apply a trained model to a whole stretch exactly as the streaming cleaner will.

Network inputs are cut by :class:`deepclean.utils.streaming.Snapshotter`, predicted by the
model (raw witnesses in, noise in strain units out) and combined by
:class:`deepclean.utils.streaming.OnlineAverager`: the same code the Triton snapshotter and
aggregator run, so offline and streaming numbers agree. The geometry's ``mode`` chooses the
stream mode (windowed: overlapping windows averaged; contiguous: one pass per phase over a
contiguous stretch, see :mod:`deepclean.utils.streaming`).
"""

from __future__ import annotations

import numpy as np
import torch

from deepclean.utils.nn.model import DeepCleanModel
from deepclean.utils.streaming import Predictor, StreamGeometry, align, stream


def torch_predictor(model: DeepCleanModel) -> Predictor:
    """``inputs (batch, W, samples)`` -> ``noise (batch, samples)`` (float64) with ``model`` in eval
    mode."""
    model.eval()

    def predict(windows: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = model(torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32)))
        return out.double().numpy()

    return predict


def warmup_samples(geometry: StreamGeometry) -> int:
    """Samples at the start of :func:`predict_noise`'s output that are not trustworthy
    (windows still holding the snapshotter's initial zeros, or fewer than ``num_updates``
    predictions averaged): ``kernel_size + lag_samples``. The contiguous mode would need only
    ``EDGE_LEFT + lag_samples``; both modes count the same, as the cleaner does."""
    return geometry.kernel_size + geometry.lag_samples


def predict_noise(
    model: DeepCleanModel, witnesses: np.ndarray, geometry: StreamGeometry
) -> np.ndarray:
    """Noise estimate aligned with ``witnesses`` ``(W, N)``.

    The stream runs over the first ``N // update_size * update_size`` samples; element
    ``k`` of the result estimates input sample ``k``. The result is ``lag_samples`` shorter
    than the samples streamed (the last ones have no complete average yet), and its first
    :func:`warmup_samples` samples are warm-up.
    """
    witnesses = np.asarray(witnesses, dtype=np.float32)
    used = witnesses.shape[1] // geometry.update_size * geometry.update_size
    if used <= geometry.lag_samples:
        raise ValueError(
            f"{witnesses.shape[1]} samples are too few to stream with update size "
            f"{geometry.update_size} "
            f"and lag {geometry.lag_samples} samples"
        )
    streamed = stream(witnesses[:, :used], torch_predictor(model), geometry)
    return align(streamed, geometry)
