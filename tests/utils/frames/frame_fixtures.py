"""Frame-writing helpers for the frame-stream tests: deterministic signals of absolute time.

A plain module (not conftest.py) so tests can import it by a name no other test folder uses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from deepclean.utils.frames.gwf import Channel, write_frame
from deepclean.utils.frames.naming import STATE_RATE_HZ, STRAIN_RATE_HZ, FrameKind, frame_path
from deepclean.utils.ifo import IFO

IFO_ = IFO.H1
T0 = 1_250_000_000  #: GPS start used by the tests
STRAIN = "H1:GDS-CALIB_STRAIN"
STATE = "H1:GDS-CALIB_STATE_VECTOR"
BACKGROUND = "H1:SIM-BACKGROUND"
#: witnesses at several native rates, as in the production list (mains 1024 Hz, ASC 512/256 Hz) plus
# a slow one
WITNESS_RATES = {
    "H1:ASC-CSOFT_P_OUT_DQ": 256,
    "H1:ASC-DHARD_P_OUT_DQ": 512,
    "H1:ASC-SLOW_P_OUT_DQ": 16,
    "H1:PEM-CS_MAINSMON_EBAY_1_DQ": 1024,
}
WITNESSES = sorted(WITNESS_RATES)
CHANNELS = [STRAIN, *WITNESSES]


def tone(name: str, rate: float, gps: float, seconds: float = 1.0) -> np.ndarray:
    """A deterministic signal of absolute GPS time for channel ``name`` (continuous across
    frames)."""
    seed = sum(map(ord, name))
    t = (gps - T0) + np.arange(int(round(seconds * rate))) / rate
    low = 0.3 + (seed % 7) * 0.1  # below 1 Hz: well inside every passband
    line = 60.0 if rate >= 256 else 3.0
    return np.sin(2 * np.pi * line * t + seed % 5) + 0.3 * np.cos(2 * np.pi * low * t)


def strain_channels(gps: int, *, state: int = 3, background: bool = False) -> list[Channel]:
    channels = [
        Channel(STRAIN, 1e-21 * tone(STRAIN, STRAIN_RATE_HZ, gps), STRAIN_RATE_HZ, float(gps)),
        Channel(
            STATE, np.full(int(STATE_RATE_HZ), state, dtype=np.uint32), STATE_RATE_HZ, float(gps)
        ),
    ]
    if background:
        channels.append(
            Channel(
                BACKGROUND,
                1e-22 * tone(BACKGROUND, STRAIN_RATE_HZ, gps),
                STRAIN_RATE_HZ,
                float(gps),
            )
        )
    return channels


def witness_channels(gps: int) -> list[Channel]:
    return [
        Channel(name, tone(name, rate, gps), float(rate), float(gps))
        for name, rate in WITNESS_RATES.items()
    ]


def write_pair(data_dir: Path, gps: int, **strain_options) -> tuple[Path, Path]:
    """Write the strain and witness frames of ``gps`` under ``data_dir``."""
    return (
        write_frame(
            frame_path(data_dir, FrameKind.STRAIN, IFO_, gps),
            strain_channels(gps, **strain_options),
        ),
        write_frame(frame_path(data_dir, FrameKind.WITNESS, IFO_, gps), witness_channels(gps)),
    )


def strain_path(data_dir: Path, gps: int) -> Path:
    return frame_path(data_dir, FrameKind.STRAIN, IFO_, gps)


class LiveWriter:
    """A writer thread: calls ``action(gps)`` for consecutive seconds every ``period`` seconds."""

    def __init__(
        self, action: Callable[[int], None], start: int, count: int, period: float = 0.05
    ) -> None:
        self.action, self.start, self.count, self.period = action, start, count, period
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="test-frame-writer", daemon=True)

    def _run(self) -> None:
        try:
            for i in range(self.count):
                time.sleep(self.period)
                self.action(self.start + i)
        except BaseException as exc:  # reported by join()
            self.error = exc

    def __enter__(self) -> LiveWriter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.join()

    def join(self) -> None:
        self.thread.join(timeout=30)
        if self.error is not None:
            raise self.error
