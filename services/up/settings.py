"""Settings of ``deepclean up`` (table ``[tool.deepclean.up]``, environment ``DEEPCLEAN_UP_*``).

Each service keeps its own settings (ports, cadences, training flags): ``up`` reads them from
the same layers (``.env``, ``pyproject.toml``) to know where the others listen, and passes
only what ties the services together on their command lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt

from deepclean.utils.config import PortOrZero, SharedSettings
from deepclean.utils.training.settings import Profile


class UpSettings(SharedSettings):
    """What ``deepclean up`` runs and how long it waits."""

    service: ClassVar[str] = "up"

    demo: bool = True
    """run the simulated detector into data_dir (--no-demo: real frames already there)"""
    history: PositiveInt | None = None
    """demo: seconds of history backfilled before going live when data_dir holds no frames; none =
    the trainer's train_duration, so the first training run starts at once"""
    demo_passes: PositiveInt | None = 3
    """demo: consecutive passing canary checks after which the monitor promotes (--passes), unless
    DEEPCLEAN_MONITOR_PASSES is set (environment, .env); none = the monitor's own (pyproject: 10)"""
    demo_inject_every: Annotated[int, Field(ge=8)] | None = 180
    """demo: the simulated detector injects one signal (bbh, bns, sine-Gaussian in turn, optimal SNR
    20) at a random time in every interval of this many seconds (simulate --inject-every); none =
    no injections"""
    demo_speed: PositiveFloat = 1.0
    """demo: simulated seconds per wall-clock second of the live stream (simulate --speed); 1 = the
    frames follow the GPS clock; above 1 the data runs ahead of the clock for an accelerated run
    (every service counts in data seconds; docs/drift)"""
    profile: Profile = Profile.CPU
    """training/inference profile of the trainer and the exporter"""
    channels: Path | None = None
    """channel list, strain first; none = <data_dir>/channels.txt"""
    ready_timeout: PositiveFloat = 1800.0
    """seconds a service waits for those it depends on before giving up (and stopping all)"""
    stop_timeout: PositiveFloat = 30.0
    """seconds between SIGTERM and SIGKILL when stopping (Triton needs up to ~20 s)"""

    restart_delay: NonNegativeFloat = 1.0
    """seconds before restarting a service that exited; doubles for each further crash in a row (a
    run of a minute or more ends the streak)"""
    restart_max_delay: PositiveFloat = 30.0
    """seconds, the longest wait before a restart"""
    log_max_bytes: PositiveInt = 10 * 2**20
    """bytes at which a service's log file in PROJECT_DIR/logs/ is rotated (<name>.log ->
    <name>.log.1, ...; 10 MiB)"""
    log_backups: NonNegativeInt = 5
    """rotated log files kept per service (<name>.log.1 .. .5)"""
    metrics_port: PortOrZero = 5003
    """port of up's own Prometheus /metrics on 127.0.0.1 (restarts per service, which services run);
    0 = none"""

    prometheus_port: PortOrZero = 9090
    """port of Prometheus on 127.0.0.1, started when its binary is on PATH (Debian: apt-get install
    prometheus); 0 = not started"""

    @property
    def channels_file(self) -> Path:
        return self.channels if self.channels is not None else self.data_dir / "channels.txt"
