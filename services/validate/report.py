"""Measure every injection of the list in every series, and the BNS range; build the report.

Per injection (``deepclean.utils.signal.recovery``): the segment is the signal's stretch
plus ``pad`` s each side; its PSD comes from ``psd_length`` s of the same series before and
after the segment, without signals or missing samples. Per series: SNR, time and phase
offsets, the optimal SNR with that PSD, and (cleaned series, truth known) the recovered
fraction. The SNR loss of a cleaned series is ``1 - recovered fraction`` when the truth is
known (exact, no noise), else ``1 - SNR(cleaned) / SNR(raw)``; an injection fails when a
cleaned series loses more than ``max_snr_loss``.

Range: the BNS inspiral range of each series over the whole span and over consecutive
``range_stride`` s stretches, from median-Welch PSDs of their signal-free samples.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from deepclean.services.validate.data import Data
from deepclean.utils.signal.range import bns_range_mpc, range_gain
from deepclean.utils.signal.recovery import noise_psd, recover
from deepclean.utils.simulation.waveforms import Injection, detector_signal

logger = logging.getLogger(__name__)

CLEANED = ("production", "out_dq", "canary")


@dataclass(frozen=True)
class Method:
    """How the measurement is made (times in s, frequencies in Hz)."""

    pad_s: float = 2.0
    psd_length_s: float = 32.0
    psd_fftlength_s: float = 4.0
    f_low_hz: float = 20.0
    f_high_hz: float = 1024.0
    max_offset_s: float = 0.02
    max_snr_loss: float = 0.1
    range_stride_s: int = 64
    range_fftlength_s: float = 4.0


def segment_span(row: dict[str, Any], method: Method) -> tuple[int, int]:
    """GPS ``[a, b)`` of an injection's matched filter: its signal plus ``pad_s``, whole seconds."""
    return math.floor(row["start_gps"] - method.pad_s), math.ceil(row["end_gps"] + method.pad_s)


def data_span(row: dict[str, Any], method: Method) -> tuple[int, int]:
    """GPS ``[start, end)`` of the data one injection's measurement reads: its segment and the
    ``psd_length_s`` on each side that give its PSD."""
    a, b = segment_span(row, method)
    psd = math.ceil(method.psd_length_s)
    return a - psd, b + psd


def signal_free(data: Data, rows: list[dict[str, Any]]) -> np.ndarray:
    """Mask of samples at least 1 s away from every injection's signal."""
    free = np.ones(data.duration * int(data.sample_rate), dtype=bool)
    for row in rows:
        a = int(math.floor((row["start_gps"] - 1 - data.start) * data.sample_rate))
        b = int(math.ceil((row["end_gps"] + 1 - data.start) * data.sample_rate))
        free[max(a, 0) : max(b, 0)] = False
    return free


def _runs(x: np.ndarray, usable: np.ndarray) -> list[np.ndarray]:
    """Contiguous stretches of ``x`` where ``usable`` and finite."""
    ok = usable & np.isfinite(x)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(int), [0]])))
    return [x[a:b] for a, b in zip(edges[::2], edges[1::2])]


def _template(data: Data, row: dict[str, Any], a: float, b: float, ifo) -> np.ndarray:
    if data.truth is not None:
        return np.nan_to_num(data.cut("truth", a, b))
    signal = detector_signal(Injection.from_json(row), ifo, data.sample_rate)
    return signal.window(int(a), int(round(b - a)))


def _reference(data: Data, name: str, a: float, b: float) -> np.ndarray | None:
    if name not in data.reference:
        return None
    ref = data.cut(f"reference:{name}", a, b)
    return ref if np.all(np.isfinite(ref)) else None


def _snr_losses(series: dict[str, Any]) -> dict[str, float]:
    """The SNR each cleaned series lost against the raw one (1 - recovered fraction, else 1 - SNR
    ratio); adds ``snr_ratio_to_raw`` to each cleaned entry."""
    raw = series.get("raw", {})
    losses = {}
    for name in CLEANED:
        s = series.get(name, {})
        if s.get("status") != "ok":
            continue
        if s.get("recovered_fraction") is not None:
            losses[name] = 1.0 - s["recovered_fraction"]
        elif raw.get("status") == "ok":
            losses[name] = 1.0 - s["snr"] / raw["snr"]
        if raw.get("status") == "ok":
            s["snr_ratio_to_raw"] = s["snr"] / raw["snr"]
    return losses


def measure_injection(
    data: Data, row: dict[str, Any], free: np.ndarray, method: Method, ifo
) -> dict[str, Any]:
    """One row of the report (see the module docstring)."""
    fs = data.sample_rate
    a, b = segment_span(row, method)
    out: dict[str, Any] = {
        "kind": row["kind"],
        "gps": row["gps"],
        "detector_gps": row["detector_gps"],
        "injected_optimal_snr": row["optimal_snr"],
    }
    if a < data.start or b > data.start + data.duration:
        return {**out, "status": "outside the span"}
    template = _template(data, row, a, b, ifo)
    i0, i1 = int((a - data.start) * fs), int((b - data.start) * fs)
    psd_a = max(0, i0 - int(method.psd_length_s * fs))
    psd_b = min(len(free), i1 + int(method.psd_length_s * fs))
    series: dict[str, Any] = {}
    for name, x in data.series.items():
        seg = x[i0:i1]
        if not np.all(np.isfinite(seg)):
            series[name] = {"status": "missing samples"}
            continue
        usable = free[psd_a:psd_b].copy()
        usable[i0 - psd_a : i1 - psd_a] = False
        try:
            freqs, psd = noise_psd(_runs(x[psd_a:psd_b], usable), fs, method.psd_fftlength_s)
        except ValueError as exc:
            series[name] = {"status": str(exc)}
            continue
        rec = recover(
            seg,
            template,
            fs,
            freqs,
            psd,
            f_low=method.f_low_hz,
            f_high=method.f_high_hz,
            taper_s=method.pad_s / 2,
            max_offset_s=method.max_offset_s,
            reference=_reference(data, name, a, b),
        )
        series[name] = {"status": "ok", **asdict(rec)}
    out["series"] = series
    losses = _snr_losses(series)
    out["snr_loss"] = losses
    out["status"] = "fail" if any(v > method.max_snr_loss for v in losses.values()) else "ok"
    return out


def ranges(data: Data, free: np.ndarray, method: Method) -> dict[str, Any]:
    """BNS range (Mpc) of every series over the span and per ``range_stride_s`` stretch."""
    fs = data.sample_rate
    stride = int(method.range_stride_s * fs)

    def one(x: np.ndarray, usable: np.ndarray) -> float | None:
        runs = [r for r in _runs(x, usable) if len(r) >= method.range_fftlength_s * fs]
        if not runs:
            return None
        freqs, psd = noise_psd(runs, fs, method.range_fftlength_s)
        return bns_range_mpc(freqs, psd)

    total = {name: one(x, free) for name, x in data.series.items()}
    times, over_time = [], {name: [] for name in data.series}
    for i in range(0, len(free) - stride + 1, stride):
        times.append(data.start + i / fs)
        for name, x in data.series.items():
            over_time[name].append(one(x[i : i + stride], free[i : i + stride]))
    gains = {
        name: range_gain(total[name], total["raw"])
        for name in CLEANED
        if total.get(name) is not None and total.get("raw")
    }
    return {"mpc": total, "gain": gains, "times": times, "over_time_mpc": over_time}


def build_report(data: Data, rows: list[dict[str, Any]], method: Method, ifo) -> dict[str, Any]:
    """The whole report (``report.json``)."""
    end = data.start + data.duration
    inside = [r for r in rows if r["end_gps"] > data.start and r["start_gps"] < end]
    free = signal_free(data, inside)
    injections = []
    for row in inside:
        result = measure_injection(data, row, free, method, ifo)
        injections.append(result)
        logger.info("%s", describe(result))
    failed = [r for r in injections if r["status"] == "fail"]
    return {
        "span": [data.start, end],
        "ifo": str(ifo),
        "sample_rate_hz": data.sample_rate,
        "truth_known": data.truth is not None,
        "method": asdict(method),
        "injections": injections,
        "failed": len(failed),
        "range": ranges(data, free, method),
    }


def describe(result: dict[str, Any]) -> str:
    """One log line per injection."""
    head = f"{result['kind']} at GPS {result['gps']:.3f}"
    if "series" not in result:
        return f"{head}: {result['status']}"
    parts = []
    for name, s in result["series"].items():
        if s.get("status") == "ok":
            extra = (
                ""
                if s.get("recovered_fraction") is None
                else f", recovered {s['recovered_fraction']:.4f}"
            )
            parts.append(f"{name} SNR {s['snr']:.2f} (optimal {s['optimal_snr']:.2f}{extra})")
        else:
            parts.append(f"{name} {s.get('status')}")
    return f"{head}: {result['status']}; " + "; ".join(parts)
