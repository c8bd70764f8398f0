"""The command lines of ``deepclean up``'s services (pure: no processes): each dependent service
runs behind ``deepclean wait-for`` (the table in :mod:`.plan`)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deepclean.services.up.ports import Ports
    from deepclean.services.up.settings import UpSettings


@dataclass(frozen=True)
class Proc:
    """One Procfile line: a service name and its shell command."""

    name: str
    command: str


def cmd(*parts: object) -> str:
    """A shell command line from ``parts``, each quoted."""
    return shlex.join(str(p) for p in parts)


#: frames of which any one gates a service: the stream may drop one (2 % in a soak), and a
#: gate on a single dropped frame held the cleaner back until ready_timeout
ALTERNATIVES = 3


def _wait(
    urls: list[str], files: list[Path], timeout: float, any_files: list[Path] = ()
) -> list[str]:
    args = ["deepclean", "wait-for", "--timeout", f"{timeout:g}"]
    for url in urls:
        args += ["--url", url]
    for path in files:
        args += ["--file", str(path)]
    for path in any_files:
        args += ["--any-file", str(path)]
    return args + ["--"]


def _gated(name: str, wait: list[str], *command: object) -> Proc:
    """The Procfile line running ``command`` once ``wait`` (``deepclean wait-for ... --``)
    passes."""
    return Proc(name, "exec " + cmd(*wait, *command))


def service_procs(
    s: UpSettings,
    ports: Ports,
    common: list,
    channels: Path,
    project: Path,
    *,
    trainer_start: int | None,
    history_files: list[Path],
    live_files: list[Path],
    monitor_passes_set: bool,
) -> list[Proc]:
    """The Procfile lines of Triton, the exporter, the trainer, the cleaner and the monitor, each
    behind its ``deepclean wait-for`` gate (see :mod:`.plan`); ``common``: the flags they share."""
    return [
        Proc(
            "triton",
            "exec " + cmd("deepclean", "triton", "--model-repository", project / "model_repo"),
        ),
        *_model_procs(s, ports, common, channels, trainer_start, history_files),
        *_stream_procs(s, ports, common, live_files, monitor_passes_set),
    ]


def _model_procs(
    s: UpSettings,
    ports: Ports,
    common: list,
    channels: Path,
    trainer_start: int | None,
    history_files: list[Path],
) -> list[Proc]:
    """The exporter (behind Triton and the channel list) and the trainer (behind the exporter, the
    channel list and the history)."""
    start = [] if trainer_start is None else ["--start", trainer_start]
    exporter = _gated(
        "exporter",
        _wait([ports.triton_ready], [channels], s.ready_timeout),
        "deepclean",
        "exporter",
        *common,
        "--channels",
        channels,
        "--triton-url",
        ports.triton_url,
        "--port",
        ports.exporter,
        "--profile",
        s.profile.value,
    )
    trainer = _gated(
        "trainer",
        _wait([f"{ports.exporter_url}/health"], [channels], s.ready_timeout, history_files),
        "deepclean",
        "trainer",
        "--profile",
        s.profile.value,
        *common,
        "--channels",
        channels,
        "--notify-url",
        f"{ports.exporter_url}/models",
        *start,
    )
    return [exporter, trainer]


def _stream_procs(
    s: UpSettings, ports: Ports, common: list, live_files: list[Path], monitor_passes_set: bool
) -> list[Proc]:
    """The cleaner (behind Triton, a served model and the first live frames) and the monitor
    (behind Triton and the exporter)."""
    cleaner = _gated(
        "cleaner",
        _wait([ports.triton_ready, f"{ports.exporter_url}/ready"], [], s.ready_timeout, live_files),
        "deepclean",
        "cleaner",
        *common,
        "--triton-url",
        ports.triton_url,
        "--metrics-port",
        ports.cleaner_metrics,
    )
    passes = (
        ["--passes", s.demo_passes] if s.demo and s.demo_passes and not monitor_passes_set else []
    )
    monitor = _gated(
        "monitor",
        _wait([ports.triton_ready, f"{ports.exporter_url}/health"], [], s.ready_timeout),
        "deepclean",
        "monitor",
        *common,
        "--exporter-url",
        ports.exporter_url,
        "--triton-url",
        ports.triton_url,
        "--port",
        ports.monitor,
        *passes,
    )
    return [cleaner, monitor]
