"""The injection list: a JSON file with one row per injected signal (columns in docs/signals.md).

::

    {"format": "deepclean-injections", "version": 1, "ifo": "H1",
     "snr_band_hz": [20.0, 2048.0], "columns": {name: "unit: meaning", ...},
     "injections": [{"kind": "bbh", "gps": 1400000075.2, ...}, ...]}

Rows are sorted by ``gps``; a row is identified by its kind and geocentric time, so writing
a list again merges with what the file already holds (a continued or later run adds rows,
never duplicates one). Writes are atomic (temporary name, fsync, ``os.replace``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from deepclean.utils.errors import ConfigError
from deepclean.utils.files import atomic_write_text
from deepclean.utils.ifo import IFO
from deepclean.utils.simulation.injections import SNR_F_HIGH_HZ, SNR_F_LOW_HZ
from deepclean.utils.simulation.waveforms import DetectorSignal, Injection

FORMAT = "deepclean-injections"
VERSION = 1

COLUMNS: dict[str, str] = {
    "kind": "bbh | bns | sine_gaussian",
    "approximant": "LALSimulation waveform: IMRPhenomD, TaylorT4, SineGaussian",
    "gps": "s: geocentric GPS time of the merger (binaries) or of the peak (sine-Gaussians)",
    "detector_gps": "s: the same at the detector (gps + light travel time from the geocentre)",
    "start_gps": "s: first sample of the signal in the data (16384 Hz grid)",
    "end_gps": "s: end of the signal in the data",
    "ra_rad": "rad: right ascension",
    "dec_rad": "rad: declination",
    "polarization_rad": "rad: polarisation angle psi",
    "inclination_rad": "rad: binaries' inclination",
    "coa_phase_rad": "rad: binaries' reference (coalescence) phase",
    "mass1_msun": "M_sun: binaries' heavier mass, detector frame",
    "mass2_msun": "M_sun: binaries' lighter mass, detector frame",
    "distance_mpc": "Mpc: binaries' luminosity distance",
    "f_lower_hz": "Hz: binaries' starting gravitational-wave frequency",
    "frequency_hz": "Hz: sine-Gaussians' central frequency",
    "quality": "sine-Gaussians' quality factor Q",
    "hrss": "strain s^(1/2): sine-Gaussians' root-sum-squared amplitude of h+",
    "optimal_snr": "optimal SNR in the detector against the design background PSD over snr_band_hz",
}


def row(injection: Injection, signal: DetectorSignal) -> dict[str, Any]:
    """One row of the list."""
    return {
        **injection.to_json(),
        "detector_gps": signal.arrival_gps,
        "start_gps": signal.start_gps,
        "end_gps": signal.end_gps,
    }


def row_key(item: dict[str, Any]) -> tuple[str, float]:
    """What identifies a row: its kind and geocentric time (to the microsecond)."""
    return (str(item["kind"]), round(float(item["gps"]), 6))


def read_injections(path: Path) -> tuple[IFO, list[dict[str, Any]]]:
    """``(ifo, rows)`` of an injection list (``ConfigError`` naming the file when it is not one)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT!r}")
        rows = list(data["injections"])
        for item in rows:
            Injection.from_json(item)  # validates the columns
        return IFO(data["ifo"]), rows
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(
            f"injection list {path}: not readable as a {FORMAT} file ({exc})"
        ) from exc


def write_injections(path: Path, ifo: IFO | str, rows: Iterable[dict[str, Any]]) -> Path:
    """Write ``rows`` merged with those already in ``path`` (same IFO), atomically."""
    path = Path(path)
    merged: dict[tuple[str, float], dict[str, Any]] = {}
    if path.exists():
        old_ifo, old = read_injections(path)
        if old_ifo != IFO(ifo):
            raise ConfigError(
                f"injection list {path} is of {old_ifo}, not {ifo}; give another file"
            )
        merged.update((row_key(r), r) for r in old)
    merged.update((row_key(r), r) for r in rows)
    data = {
        "format": FORMAT,
        "version": VERSION,
        "ifo": str(IFO(ifo)),
        "snr_band_hz": [SNR_F_LOW_HZ, SNR_F_HIGH_HZ],
        "columns": COLUMNS,
        "injections": sorted(merged.values(), key=lambda r: float(r["gps"])),
    }
    return atomic_write_text(path, json.dumps(data, indent=1))
