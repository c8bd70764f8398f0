"""The writer loops of ``deepclean simulate``: backfill (as fast as possible) and real time.

Real time: frame N (covering GPS [N, N+1)) is written when the simulated clock reaches
N + 1. The simulated clock runs ``speed`` times faster than the wall clock from an origin:
with ``--start now`` (or ``--follow-clock``) and speed 1 the origin is the real GPS time
(frames appear at the GPS second boundaries, like a detector's; with a start in the past the
seconds already due are written at once); otherwise the origin is the launch time. Each
frame is generated before it is due, so the logged latency (completion minus due time) is
the cost of writing. A ``stop`` event (set by SIGINT/SIGTERM) ends either loop cleanly
after the current frame; pending partial files are completed before returning.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deepclean.services.simulate.faults import FaultPlan
from deepclean.services.simulate.injector import Injector
from deepclean.services.simulate.preflight import Preflight, check_before_writing, write_record
from deepclean.services.simulate.settings import SimulateSettings
from deepclean.services.simulate.writer import FrameOutcome, FrameSink
from deepclean.utils.files import atomic_write_text
from deepclean.utils.simulation.detector import (
    DetectorConfig,
    SimulatedDetector,
    SimulatedSecond,
)

logger = logging.getLogger(__name__)

PROGRESS_EVERY_S = 10.0  #: backfill: wall seconds between progress lines


def gps_now() -> float:
    """The current GPS time, seconds (from LAL, leap seconds included)."""
    import lal

    return float(lal.GPSTimeNow())


def detector_config(settings: SimulateSettings) -> DetectorConfig:
    """The physics of the simulation from the command's settings."""
    return DetectorConfig(
        ifo=settings.ifo,
        seed=settings.seed,
        line_frequency_hz=settings.line_frequency,
        witnesses=tuple(settings.witness_names()),
        couplings=tuple(zip(settings.coupled_witnesses, settings.coupling_weights)),
        bilinear_asd_ratio=settings.bilinear_asd_ratio,
        linear_amplitude=settings.linear_amplitude,
        drift=settings.drift(),
        harmonics=settings.harmonic_coupling(),
    )


def write_channel_list(path: Path, channels: Sequence[str]) -> Path:
    """Write ``channels`` one per line to ``path`` atomically."""
    path = Path(path)
    return atomic_write_text(path, "\n".join(channels) + "\n")


@dataclass
class RunSummary:
    """Counts and timings of a run."""

    start: int
    frames: int = 0
    dropped: Counter = field(default_factory=Counter)  #: stream -> frames dropped
    partial: Counter = field(default_factory=Counter)  #: stream -> frames written in pieces
    not_ready: int = 0  #: seconds with any not-ready state-vector sample
    generate_s: float = 0.0  #: wall seconds generating data
    write_s: float = 0.0  #: wall seconds writing frames
    wall_s: float = 0.0  #: wall seconds of the loop (set-up excluded)
    max_latency_s: float = 0.0  #: real-time mode: worst completion delay after the due time
    kept: int = 0  #: seconds whose frames were already there (a continued run)

    def add(self, outcome: FrameOutcome, generate_s: float) -> None:
        self.frames += 1
        self.dropped.update(outcome.dropped)
        self.partial.update(outcome.partial)
        self.not_ready += not outcome.ready
        self.generate_s += generate_s
        self.write_s += outcome.write_s

    @property
    def throughput(self) -> float:
        """Seconds of data per wall-clock second."""
        return self.frames / self.wall_s if self.wall_s > 0 else float("nan")

    def line(self) -> str:
        kept = f", kept {self.kept} s already there" if self.kept else ""
        return (
            f"wrote GPS {self.start}-{self.start + self.frames + self.kept} ({self.frames} "
            f"s{kept}) in {self.wall_s:.2f} s: "
            f"{self.throughput:.1f} s of data per wall second (generate {self.generate_s:.2f} s, "
            f"write {self.write_s:.2f} s); dropped {_counts(self.dropped)}, partial "
            f"{_counts(self.partial)}, "
            f"not ready {self.not_ready} s"
        )


def run_simulation(
    settings: SimulateSettings,
    stop: threading.Event | None = None,
    *,
    clock: Callable[[], float] = gps_now,
    overwrite: bool = False,
) -> RunSummary:
    """Write frames as ``settings`` say until ``duration`` is done or ``stop`` is set.

    Nothing is written when the span cannot be written or already has frames (unless
    ``overwrite``): see :mod:`deepclean.services.simulate.preflight`.
    """
    stop = stop or threading.Event()
    launch_gps, launch_mono = clock(), time.monotonic()
    start = int(launch_gps) if settings.start == "now" else int(settings.start)
    config = detector_config(settings)
    preflight = _prepare(settings, start, config, overwrite)
    detector = SimulatedDetector(config, start)
    injector = Injector(settings) if settings.injecting() else None
    loop_mono = time.monotonic()
    if (settings.start == "now" or settings.follow_clock) and settings.speed == 1.0:
        origin = launch_mono - (launch_gps - start)  # wall time at which GPS `start` began
    else:
        origin = loop_mono
    summary = RunSummary(start=start)
    progress = _BackfillProgress(settings.duration, loop_mono)
    sink = _frame_sink(settings)
    try:
        seconds = _seconds(settings, detector, injector, start, preflight.keep, summary, stop)
        for gps, done, second, generate_s in seconds:
            due = None if settings.backfill else origin + (gps + 1 - start) / settings.speed
            if due is not None and stop.wait(max(0.0, due - time.monotonic())):
                break
            outcome = sink.write(second)
            summary.add(outcome, generate_s)
            if due is None:
                progress.log(gps, done, summary.frames, outcome)
            else:
                _log_real_time(summary, gps, due, generate_s, outcome)
    finally:
        sink.close()
        summary.wall_s = time.monotonic() - loop_mono
    logger.info("%s", summary.line())
    return summary


def _prepare(
    settings: SimulateSettings, start: int, config: DetectorConfig, overwrite: bool
) -> Preflight:
    """Check the span can be written (raises otherwise), record the run's settings, write the
    channel list when needed and say what is simulated."""
    channels_file = settings.channels_file or settings.data_dir / "channels.txt"
    preflight = check_before_writing(settings, start, config, channels_file, overwrite=overwrite)
    write_record(settings)
    if preflight.write_channels:
        write_channel_list(channels_file, config.channel_list())
    logger.info(
        "simulating %s from GPS %d (%s, seed %d, %d witnesses, line %.1f Hz) into %s; "
        "channel list %s",
        settings.ifo,
        start,
        "backfill" if settings.backfill else f"real time x{settings.speed:g}",
        settings.seed,
        len(config.witnesses),
        settings.line_frequency,
        settings.data_dir,
        channels_file,
    )
    return preflight


def _frame_sink(settings: SimulateSettings) -> FrameSink:
    """Where the frames go, with the faults (drops, partial writes) the settings ask for."""
    return FrameSink(
        settings.data_dir,
        settings.ifo,
        FaultPlan.from_settings(settings),
        truth=settings.truth,
        partial_pieces=settings.partial_pieces,
        partial_delay_s=settings.partial_delay,
    )


def _seconds(
    settings: SimulateSettings,
    detector: SimulatedDetector,
    injector: Injector | None,
    start: int,
    keep: frozenset[int],
    summary: RunSummary,
    stop: threading.Event,
) -> Iterator[tuple[int, int, SimulatedSecond, float]]:
    """The simulated seconds to write, in order, until ``duration`` is done or ``stop`` is set:
    (GPS, seconds done, the second with its injections, wall seconds generating it). Each
    second is generated even when kept (the simulation stays continuous); the kept ones (a
    continued run: their frames are there already) are counted in ``summary``, not given."""
    done = 0
    while not stop.is_set() and (settings.duration is None or done < settings.duration):
        gps = start + done
        done += 1
        t0 = time.perf_counter()
        second = detector.next()
        generate_s = time.perf_counter() - t0
        if gps in keep:
            summary.kept += 1
            continue
        if injector is not None:
            second = injector(second)
        yield gps, done, second, generate_s


def _log_real_time(
    summary: RunSummary, gps: int, due: float, generate_s: float, outcome: FrameOutcome
) -> None:
    """Real time: log the frame's latency (completion minus due time) and keep the worst."""
    latency = time.monotonic() - due
    summary.max_latency_s = max(summary.max_latency_s, latency)
    logger.info(
        "GPS %d written: latency %.3f s (generate %.1f ms, write %.1f ms)%s",
        gps,
        latency,
        1e3 * generate_s,
        1e3 * outcome.write_s,
        _faults(outcome),
    )


class _BackfillProgress:
    """Backfill: each frame at debug level, a progress line every ``PROGRESS_EVERY_S``."""

    def __init__(self, duration: int | None, loop_mono: float) -> None:
        self.duration = duration
        self.loop_mono = loop_mono  #: monotonic time the loop started
        self.last = loop_mono  #: monotonic time of the last progress line

    def log(self, gps: int, done: int, frames: int, outcome: FrameOutcome) -> None:
        logger.debug("GPS %d written in %.1f ms%s", gps, 1e3 * outcome.write_s, _faults(outcome))
        if time.monotonic() - self.last >= PROGRESS_EVERY_S:
            self.last = time.monotonic()
            total = f"/{self.duration}" if self.duration else ""
            logger.info(
                "backfill: GPS %d written, %d%s s done, %.1f s of data per wall second",
                gps,
                done,
                total,
                frames / (self.last - self.loop_mono),
            )


def _counts(counter: Counter) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) if counter else "none"


def _faults(outcome: FrameOutcome) -> str:
    notes = [f"dropped {s}" for s in outcome.dropped] + [f"partial {s}" for s in outcome.partial]
    if not outcome.ready:
        notes.append("not ready")
    return f" [{', '.join(notes)}]" if notes else ""
