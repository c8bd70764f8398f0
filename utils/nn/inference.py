"""Apply a trained model to a whole stretch exactly as the streaming cleaner will.

Windows are cut by :class:`deepclean.utils.streaming.Snapshotter`, predicted by the model
(raw witnesses in, noise in strain units out) and averaged by
:class:`deepclean.utils.streaming.OnlineAverager`: the same code the Triton snapshotter
and aggregator run, so offline and streaming numbers agree.
"""

from __future__ import annotations

import numpy as np
import torch

from deepclean.utils.nn.model import DeepCleanModel
from deepclean.utils.streaming import Predictor, StreamGeometry, align, stream


def torch_predictor(model: DeepCleanModel) -> Predictor:
    """``windows (batch, W, kernel)`` -> ``noise (batch, kernel)`` (float64) with ``model`` in eval mode."""
    model.eval()

    def predict(windows: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = model(torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32)))
        return out.double().numpy()

    return predict


def warmup_samples(geometry: StreamGeometry) -> int:
    """Samples at the start of :func:`predict_noise`'s output that are not trustworthy
    (windows still holding the snapshotter's initial zeros, or fewer than ``num_updates``
    predictions averaged): ``kernel_size + lag_samples``."""
    return geometry.kernel_size + geometry.lag_samples


def predict_noise(model: DeepCleanModel, witnesses: np.ndarray, geometry: StreamGeometry) -> np.ndarray:
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
            f"{witnesses.shape[1]} samples are too few to stream with update size {geometry.update_size} "
            f"and lag {geometry.lag_samples} samples"
        )
    streamed = stream(witnesses[:, :used], torch_predictor(model), geometry)
    return align(streamed, geometry)
