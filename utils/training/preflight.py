"""Checks made before any data is read: streaming geometry, memory, finiteness of what is written.

Pure checks (no files written): each raises an error naming the setting, the value and
what is allowed, so a command fails in its first second rather than after minutes of work.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from deepclean.utils.disk import human_bytes
from deepclean.utils.errors import ConfigError, DeepCleanError, ResourceError
from deepclean.utils.streaming import StreamGeometry

MEMORY_FRACTION = 0.5  #: a span may take at most this fraction of the available memory
BYTES_PER_SAMPLE = 8 * 3  #: float64 span + float32 copy + working arrays, per channel sample


def inference_geometry(
    *,
    kernel_length: float,
    sampling_rate: float,
    sample_rate: float,
    batch_size: int,
    max_latency: float,
) -> StreamGeometry:
    """The streaming geometry of ``inference_*`` settings; ``ValueError`` naming the settings
    and what is allowed when they do not fit together."""
    stride = sample_rate / sampling_rate
    if abs(stride - round(stride)) > 1e-6 or round(stride) < 1:
        raise ValueError(
            f"inference_sampling_rate {sampling_rate:g} Hz gives a stride of {stride:.6g} "
            "samples at sample_rate "
            f"{sample_rate:g} Hz, not a whole number; allowed: rates dividing {sample_rate:g} "
            f"(e.g. {', '.join(f'{sample_rate / 2**k:g}' for k in range(4, 0, -1))})"
        )
    kernel = kernel_length * sample_rate
    if abs(kernel - round(kernel)) > 1e-6 or round(kernel) % round(stride):
        raise ValueError(
            f"inference_kernel_length {kernel_length:g} s is not a whole number of strides "
            f"(1/inference_sampling_rate = {1 / sampling_rate:g} s); allowed: a multiple "
            "of the stride"
        )
    if not 1 / sampling_rate <= max_latency + 1e-9 or max_latency > kernel_length + 1e-9:
        raise ValueError(
            f"max_latency {max_latency:g} s is not allowed with inference_kernel_length "
            f"{kernel_length:g} s and "
            f"inference_sampling_rate {sampling_rate:g} Hz: need 1/inference_sampling_rate "
            f"({1 / sampling_rate:g} s)"
            f" <= max_latency <= inference_kernel_length"
        )
    return StreamGeometry.from_seconds(
        kernel_length=kernel_length,
        stride_length=1.0 / sampling_rate,
        sample_rate=sample_rate,
        batch_size=batch_size,
        max_latency=max_latency,
    )


def available_memory() -> int:
    """Bytes of memory available to a new allocation (``MemAvailable``, else physical memory)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_span_memory(
    channels: int, seconds: float, sample_rate: float, setting: str, value: Any
) -> None:
    """:class:`ResourceError` when ``channels`` x ``seconds`` at ``sample_rate`` would not fit in
    :data:`MEMORY_FRACTION` of the available memory."""
    need = channels * seconds * sample_rate * BYTES_PER_SAMPLE
    have = available_memory() * MEMORY_FRACTION
    if need > have:
        most = int(have / (channels * sample_rate * BYTES_PER_SAMPLE))
        raise ResourceError(
            f"setting {setting} = {value}: {seconds:g} s of {channels} channel(s) at "
            f"{sample_rate:g} Hz need about {human_bytes(need)} of memory, "
            f"{human_bytes(have)} may be used here; allowed: at most about {most} s"
        )


def check_finite(values: np.ndarray, what: str) -> None:
    """:class:`DeepCleanError` naming ``what`` when ``values`` hold NaN or infinity."""
    values = np.asarray(values)
    if values.size and not np.all(np.isfinite(values)):
        bad = int(values.size - np.count_nonzero(np.isfinite(values)))
        raise DeepCleanError(
            f"{what} holds {bad} NaN/infinite value(s) of {values.size}; nothing was written"
        )


def check_finite_json(data: Mapping[str, Any], what: str) -> str:
    """``data`` as JSON text; :class:`DeepCleanError` naming the first non-finite number's key."""

    def walk(value: Any, key: str) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            raise DeepCleanError(f"{what}: {key} is {value}; nothing was written")
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                walk(v, f"{key}[{i}]")

    walk(data, "")
    return json.dumps(data, indent=2, allow_nan=False)


def check_context(duration: int, before: int, after: int, kernel_length: float) -> None:
    """:class:`ConfigError` when the seconds read around a span outnumber the span itself."""
    if before + after > duration:
        raise ConfigError(
            f"setting inference_kernel_length = {kernel_length:g}: cleaning {duration} s "
            f"needs {before} s of context "
            f"before and {after} s after, so the read would be mostly padding; allowed: "
            "context <= duration "
            f"(give --duration >= {before + after} or a shorter --inference-kernel-length)"
        )
