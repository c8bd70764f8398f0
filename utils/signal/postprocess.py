"""Post-processing of averaged noise predictions: band-pass with padding, then subtract.

The averaged noise holds the network's estimate at every frequency; only the cleaning
band(s) are trusted, so it is band-passed with the zero-phase filter first. A zero-phase
filter needs data on both sides of the samples it returns, so callers pass the noise with
``memory`` samples before and ``lead`` samples after the stretch to clean (the streaming
cleaner keeps a short past buffer and waits for a little future; the offline cleaner has
the whole span). ``clean = raw - noise``.

At the live edge the lead is short (what one frame leaves: 0.93 s at the cpu geometry), and the
backward pass's start-up transient still reaches into the returned stretch; the live cleaner
therefore continues the noise by ``extension`` samples of autoregressive prediction
(:mod:`.extrapolate`, fitted to the last :data:`AR_FIT_S` seconds) before filtering. Measured on
the noise of the latency benchmark's model, in band over 96 s: the live band-pass differs from
the whole-record one by 0.49% of the removed noise with the default lead and no extension, by
0.04% with :data:`LIVE_EXTENSION_S` (docs/architecture.md, latency budget).
"""

from __future__ import annotations

import numpy as np

from deepclean.utils.signal.extrapolate import extrapolate
from deepclean.utils.signal.filters import BandpassFilter, sum_bands

DEFAULT_MEMORY_S = 1.0  #: seconds of past noise filtered with the current stretch
DEFAULT_LEAD_S = 0.5  #: seconds of future noise filtered with the current stretch
LIVE_EXTENSION_S = 1.0  #: seconds of predicted noise appended at the live edge before filtering
AR_ORDER = 64  #: order of the autoregressive model that predicts them (samples)
AR_FIT_S = 2.0  #: seconds at the end of the noise the model is fitted to


def filter_noise(
    noise: np.ndarray,
    bandpass: BandpassFilter,
    memory: int = 0,
    lead: int = 0,
    extension: int = 0,
) -> np.ndarray:
    """Band-pass ``noise`` (``(time,)``, float) and drop ``memory`` samples at the start and
    ``lead`` samples at the end; returns ``len(noise) - memory - lead`` samples, float64.

    ``extension``: samples of autoregressive prediction (order :data:`AR_ORDER`, fitted to the
    last :data:`AR_FIT_S` seconds) appended after the end before filtering, dropped after."""
    return sum_bands(filter_noise_bands(noise, bandpass, memory, lead, extension))


def filter_noise_bands(
    noise: np.ndarray,
    bandpass: BandpassFilter,
    memory: int = 0,
    lead: int = 0,
    extension: int = 0,
) -> list[np.ndarray]:
    """:func:`filter_noise` band by band: one ``(len(noise) - memory - lead,)`` series per band
    of ``bandpass`` (in its order), each filtered by that band's filter alone; they sum to
    :func:`filter_noise`'s result."""
    noise = np.asarray(noise, dtype=np.float64)
    if noise.ndim != 1:
        raise ValueError(f"noise has shape {noise.shape}; expected (time,)")
    if memory < 0 or lead < 0 or memory + lead >= noise.size:
        raise ValueError(
            f"padding memory={memory} and lead={lead} samples leave nothing of "
            f"{noise.size} noise samples; "
            "need 0 <= memory, lead and memory + lead < len(noise)"
        )
    if extension < 0:
        raise ValueError(f"extension is {extension} samples; it must be >= 0")
    if extension > 0:
        fit = noise[-int(round(AR_FIT_S * bandpass.sample_rate)) :]
        noise = np.concatenate([noise, extrapolate(fit, extension, AR_ORDER)])
    end = noise.size - extension - lead
    return [filtered[memory:end] for filtered in bandpass.per_band(noise)]


def subtract_noise(raw: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """``raw - noise`` for two ``(time,)`` arrays of equal length (float64)."""
    raw = np.asarray(raw, dtype=np.float64)
    noise = np.asarray(noise, dtype=np.float64)
    if raw.shape != noise.shape:
        raise ValueError(
            f"raw strain has shape {raw.shape} but noise has shape {noise.shape}; they must match"
        )
    return raw - noise


def clean(
    raw: np.ndarray, noise: np.ndarray, bandpass: BandpassFilter, memory: int = 0, lead: int = 0
) -> np.ndarray:
    """Band-pass the padded ``noise`` and subtract it from ``raw``.

    Args:
        raw: ``(n,)`` strain to clean.
        noise: ``(memory + n + lead,)`` averaged noise prediction, aligned so that
            ``noise[memory:memory + n]`` covers the same samples as ``raw``.
        bandpass: the cleaning band-pass.
        memory, lead: padding samples before and after.
    """
    if np.shape(noise)[-1] - memory - lead != np.shape(raw)[-1]:
        raise ValueError(
            f"raw strain has shape {np.shape(raw)} but noise has shape {np.shape(noise)} with "
            f"memory={memory} and lead={lead} padding samples; need len(noise) = memory + "
            "len(raw) + lead"
        )
    return subtract_noise(raw, filter_noise(noise, bandpass, memory, lead))
