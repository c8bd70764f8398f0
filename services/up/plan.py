"""What ``deepclean up`` runs: one command line per service, in a Procfile (pure: no processes).

Start-up order is by readiness, not by sleeps: honcho starts every line at once, so each
dependent service runs behind ``deepclean wait-for``, which execs it once what it needs answers:

========== ================================================================ ====================
service    waits for                                                        then runs
========== ================================================================ ====================
simulator  -                                                                ``deepclean simulate``
triton     -                                                                ``deepclean triton``
exporter   Triton ``/v2/health/ready``, the channel list                    ``deepclean exporter``
trainer    exporter ``/health``, the history (demo's first run)             ``deepclean trainer``
cleaner    exporter ``/ready`` (a model is served), the first live frame    ``deepclean cleaner``
monitor    exporter ``/health``, Triton ready                               ``deepclean monitor``
========== ================================================================ ====================

Resuming: the demo detector goes on live after the newest strain frame on disk (on a first
start it backfills ``history`` seconds before the current GPS second in the background while
it writes live from that second on); the trainer starts ``train_duration``
seconds before the head of the data, so a first model is trained from the history at once
and a later run finds its previous models in ``$PROJECT_DIR/train``; the exporter, cleaner
and monitor resume from their own state under ``$PROJECT_DIR``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from deepclean.services.up.commands import (  # noqa: F401 - re-exported: they lived here
    ALTERNATIVES,
    Proc,
    cmd,
    service_procs,
)
from deepclean.services.up.ports import Ports
from deepclean.services.up.settings import UpSettings
from deepclean.utils.config import SharedSettings
from deepclean.utils.frames.naming import FrameKind, frame_path, frames_in, stream_dir
from deepclean.utils.ifo import IFO

DEFAULT_FREQ_LOW = SharedSettings.model_fields["freq_low"].default
DEFAULT_FREQ_HIGH = SharedSettings.model_fields["freq_high"].default


@dataclass(frozen=True)
class FrameSpan:
    """GPS of the oldest and newest strain frames on disk (None when there are none)."""

    oldest: int | None = None
    newest: int | None = None

    @classmethod
    def scan(cls, data_dir: Path, ifo: IFO | str) -> FrameSpan:
        directory = stream_dir(data_dir, FrameKind.STRAIN, ifo)
        gps = [name.gps for name, _ in frames_in(directory, FrameKind.STRAIN, ifo)]
        return cls(min(gps), max(gps)) if gps else cls()


@dataclass(frozen=True)
class Plan:
    """The processes to run and the facts printed for the user."""

    procs: list[Proc]
    backfill: tuple[int, int] | None  #: demo: (start GPS, seconds) written before going live
    live_start: int | None  #: demo: first GPS written live
    trainer_start: int | None  #: GPS the trainer starts reading at (None: the newest frame)

    def procfile(self) -> str:
        lines = [
            "# Written by `deepclean up` (./run.sh up); regenerated on every start, do not edit.",
            "# Run by honcho: every line starts at once, dependents wait with `deepclean "
            "wait-for`.",
        ]
        return "\n".join(lines + [f"{p.name}: {p.command}" for p in self.procs]) + "\n"


def demo_bands(
    settings: UpSettings, line_hz: float, harmonic_orders: list[int]
) -> list[tuple[float, float]] | None:
    """The demo detector's cleaning bands: the line and each harmonic it couples at, +/- 2 Hz
    (every band its witnesses explain), when ``settings`` run the demo with the default bands;
    None otherwise (bands set by the user, or real frames)."""
    default = [(lo, hi) for lo, hi in zip(DEFAULT_FREQ_LOW, DEFAULT_FREQ_HIGH)]
    if not settings.demo or list(settings.bands) != default or not harmonic_orders:
        return None
    return [(k * line_hz - 2.0, k * line_hz + 2.0) for k in (1, *harmonic_orders)]


@dataclass(frozen=True)
class _Demo:
    """The demo detector's simulator line and what it decides (all None/empty without the demo)."""

    proc: Proc | None = None
    backfill: tuple[int, int] | None = None
    live_start: int | None = None
    head: int | None = None  #: GPS after the newest frame (the live start on a first demo)
    #: the backfill's last seconds (any one of them: the trainer needs the whole history) and
    #: the first live seconds (any one: the cleaner starts at the live head)
    history_files: list[Path] = field(default_factory=list)
    live_files: list[Path] = field(default_factory=list)


def _demo(
    s: UpSettings,
    data: Path,
    ifo: str,
    channels: Path,
    head: int | None,
    *,
    train_duration: int,
    now: int,
) -> _Demo:
    """The simulator of the demo detector: on a first start it backfills the history and goes
    live at ``now``; later it resumes after ``head`` (the GPS after the newest frame)."""
    if not s.demo:
        return _Demo(head=head)
    backfill = live_start = None
    history_files: list[Path] = []
    live_files: list[Path] = []
    sim = [
        "deepclean",
        "simulate",
        "--data-dir",
        data,
        "--ifo",
        ifo,
        "--channels-file",
        channels,
    ]
    if s.demo_inject_every is not None:
        sim += ["--inject-every", s.demo_inject_every]
    # live: on the GPS clock at speed 1; faster, paced from launch (the data runs ahead of it)
    pace = ["--follow-clock"] if s.demo_speed == 1.0 else ["--speed", f"{s.demo_speed:g}"]
    if head is None:
        seconds = s.history or train_duration
        backfill = (now - seconds, seconds)
        live_start = head = now
        history_files = [
            frame_path(data, FrameKind.STRAIN, ifo, now - 1 - k) for k in range(ALTERNATIVES)
        ]
        live_files = [frame_path(data, FrameKind.STRAIN, ifo, now + k) for k in range(ALTERNATIVES)]
        # the history is written in the background while the live stream starts at once, so
        # the live frames keep up with the clock; both are in honcho's process group
        command = (
            cmd(*sim, "--start", backfill[0], "--duration", seconds, "--backfill")
            + " & exec "
            + cmd(*sim, "--start", live_start, *pace)
        )
    else:
        # the demo detector follows the GPS clock: the seconds it missed while stopped are
        # caught up at once, unless it was off longer than a training run's history (then that
        # stretch stays a gap, as after a detector outage, and the trainer starts afresh after
        # it)
        live_start = head if now - head <= (s.history or train_duration) else now
        command = "exec " + cmd(*sim, "--start", live_start, *pace)
    return _Demo(Proc("simulator", command), backfill, live_start, head, history_files, live_files)


def make_plan(
    settings: UpSettings,
    ports: Ports,
    frames: FrameSpan,
    *,
    train_duration: int,
    now: int,
    monitor_passes_set: bool = False,
    bands: list[tuple[float, float]] | None = None,
    prometheus: list[str] | None = None,
) -> Plan:
    """The processes of the pipeline for ``settings`` given the frames on disk and the GPS ``now``.

    ``train_duration`` is the trainer's (its settings and profile), seconds; ``now`` is the
    current GPS second (where a first demo's history ends); ``monitor_passes_set``: the user
    set the monitor's ``passes`` (then ``demo_passes`` is not given to it); ``bands``: cleaning
    bands (Hz) given to the exporter, trainer, cleaner and monitor (None: their own settings;
    see :func:`demo_bands`);
    ``prometheus``: its command line, run as one more process (None: no Prometheus).
    """
    s = settings
    data, project, ifo = s.data_dir.resolve(), s.project_dir.resolve(), str(s.ifo)
    channels = s.channels_file if s.channels_file.is_absolute() else s.channels_file.resolve()
    common = ["--data-dir", data, "--project-dir", project, "--ifo", ifo]
    if bands:
        common += ["--freq-low", *[f"{lo:g}" for lo, _ in bands]]
        common += ["--freq-high", *[f"{hi:g}" for _, hi in bands]]
    head = None if frames.newest is None else frames.newest + 1  # GPS after the newest frame
    demo = _demo(s, data, ifo, channels, head, train_duration=train_duration, now=now)
    procs = [demo.proc] if demo.proc else []
    backfill, live_start, head = demo.backfill, demo.live_start, demo.head
    oldest = frames.oldest if frames.oldest is not None else (backfill[0] if backfill else None)
    trainer_start = None if head is None else max(oldest, head - train_duration)
    if live_start is not None and head is not None and live_start > head:  # an outage gap
        trainer_start = live_start

    procs += service_procs(
        s,
        ports,
        common,
        channels,
        project,
        trainer_start=trainer_start,
        history_files=demo.history_files,
        live_files=demo.live_files,
        monitor_passes_set=monitor_passes_set,
    )
    if prometheus:
        procs.append(Proc("prometheus", "exec " + cmd(*prometheus)))
    return Plan(procs, backfill, live_start, trainer_start)


def where_to_look(settings: UpSettings, ports: Ports) -> list[str]:
    """Lines telling the user where the pipeline's outputs are."""
    from deepclean.utils.products import Product

    project, ifo = settings.project_dir.resolve(), settings.ifo
    cleaned = project / "cleaned" / str(ifo)
    read = (
        "from glob import glob; from gwpy.timeseries import TimeSeries; "
        f"f = sorted(glob('{cleaned}/*.gwf'))[-1]; print(f, TimeSeries.read(f, "
        f"'{Product.OUT_DQ.channel(ifo)}'))"
    )
    return [
        f"status page:    {ports.monitor_url}",
        f"cleaned frames: {cleaned}/ (one GWF file per second; raw pass-through until a "
        "trained model is promoted)",
        f"logs:           {project / 'logs'}/<service>.log",
        f'read a frame:   .venv/bin/python -c "{read}"',
        "stop:           Ctrl-C (stops every service; ./run.sh up again resumes from what "
        "is on disk)",
    ]
