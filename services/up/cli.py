"""``deepclean up``: the whole pipeline as supervised local processes (``./run.sh up``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from deepclean.services.cli import settings_command
from deepclean.services.up.settings import UpSettings

if TYPE_CHECKING:
    from deepclean.services.up.ports import Ports

DESCRIPTION = """\
Run the whole DeepClean pipeline on this machine under honcho: the demo detector
(deepclean simulate: history first, then live), Triton over <project_dir>/model_repo, the
exporter, the trainer, the cleaner and the monitor. Services start by readiness (Triton
ready -> exporter healthy -> the rest), each line is prefixed on the console and appended
to <project_dir>/logs/<service>.log, and Ctrl-C stops them all. Running it again resumes
from what is on disk. Each service takes its other settings from .env / pyproject.toml
(DEEPCLEAN_<SERVICE>_<SETTING>); the generated Procfile is <project_dir>/Procfile.

examples: deepclean up
          deepclean up --no-demo --data-dir /dev/shm/kafka-root --ifo L1
"""

HELP = "run the whole pipeline here (simulator, Triton, exporter, trainer, cleaner, monitor)"

UNUSED = {"sample_rate", "freq_low", "freq_high"}

logger = logging.getLogger(__name__)

add_parser = settings_command("up", UpSettings, HELP, DESCRIPTION, UNUSED)


def trainer_duration(profile: str) -> int:
    """The trainer's train_duration under ``profile`` (its settings' layers apply)."""
    from deepclean.services.trainer.settings import TrainerSettings
    from deepclean.utils.config import load_settings
    from deepclean.utils.training.settings import profile_overrides

    return load_settings(
        TrainerSettings, overrides=profile_overrides(profile, TrainerSettings)
    ).train_duration


def monitor_passes_set(env_file: Path) -> bool:
    """Whether the user chose the monitor's ``passes`` for this run (environment or ``env_file``;
    pyproject's table holds the production default, which the demo schedule replaces)."""
    from deepclean.utils.config import read_env_file

    name = "DEEPCLEAN_MONITOR_PASSES"
    return bool(os.environ.get(name) or read_env_file(env_file, explicit=False).get(name))


def plan_prometheus(settings, ports: Ports, project: Path) -> tuple[list[str] | None, str]:
    """Prometheus's command line (None: not started) and a line saying where it is; writes its
    configuration to ``project/prometheus/prometheus.yml``."""
    import shutil

    from deepclean.services.up.prometheus import RULES, prometheus_command, prometheus_config

    if not settings.prometheus_port:
        return None, ""
    if shutil.which("prometheus") is None:
        return None, "prometheus:     not on PATH (Debian: apt-get install prometheus); not started"
    home = project / "prometheus"
    (home / "data").mkdir(parents=True, exist_ok=True)
    config = home / "prometheus.yml"
    config.write_text(prometheus_config(ports, settings.metrics_port))
    rules = str(RULES) if RULES.is_file() else "none (deploy/prometheus/alerts.yml not found)"
    return prometheus_command(config, home / "data", settings.prometheus_port), (
        f"prometheus:     http://127.0.0.1:{settings.prometheus_port}/alerts (rules: {rules})"
    )


def simulator_lines() -> tuple[float, list[int]]:
    """The demo detector's line frequency (Hz) and the harmonic orders it couples at, from the
    simulator's own settings (environment, .env, pyproject)."""
    from deepclean.services.simulate.settings import SimulateSettings
    from deepclean.utils.config import load_settings

    sim = load_settings(SimulateSettings)
    return sim.line_frequency, [h.order for h in sim.harmonic_coupling()]


def run(args: argparse.Namespace) -> int:
    from deepclean.services.up.plan import FrameSpan, demo_bands, make_plan
    from deepclean.services.up.ports import read_ports
    from deepclean.services.up.runner import run_procfile
    from deepclean.utils.auth import TOKEN_ENV
    from deepclean.utils.config import ENV_FILE_ENV
    from deepclean.utils.frames.crawler import gps_now

    settings = up_settings(args)
    ports = read_ports()
    env_file = Path(os.environ.get(ENV_FILE_ENV) or ".env")
    train_duration = trainer_duration(settings.profile.value)
    passes_set = monitor_passes_set(env_file)
    project = settings.project_dir.resolve()
    prometheus, prometheus_line = plan_prometheus(settings, ports, project)

    bands = demo_bands(settings, *simulator_lines())

    def plan_now():
        """The plan from the frames on disk now: at the start, and for each restart (what a new
        ./run.sh up would run, so a restarted simulator goes on after its newest frame)."""
        return make_plan(
            settings,
            ports,
            FrameSpan.scan(settings.data_dir, settings.ifo),
            train_duration=train_duration,
            now=gps_now(),
            monitor_passes_set=passes_set,
            bands=bands,
            prometheus=prometheus,
        )

    frames = FrameSpan.scan(settings.data_dir, settings.ifo)
    plan = plan_now()
    (project / "model_repo").mkdir(parents=True, exist_ok=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    procfile = project / "Procfile"
    procfile.write_text(plan.procfile())
    banner = [f"Procfile: {procfile}", *plan_banner(settings, plan, frames, ports)]
    if prometheus_line:
        banner.append(prometheus_line)
    backoff = restart_backoff(settings)
    on_change = serve_metrics(settings, project, banner)
    token = service_token(project, env_file, banner)
    return run_procfile(
        procfile,
        project / "logs",
        stop_timeout=settings.stop_timeout,
        bin_dir=Path(sys.executable).parent,
        env_file=env_file,
        banner=banner,
        backoff=backoff,
        command_for=lambda name: {p.name: p.command for p in plan_now().procs}.get(name),
        on_change=on_change,
        log_max_bytes=settings.log_max_bytes,
        log_backups=settings.log_backups,
        extra_env={TOKEN_ENV: token},
    )


def up_settings(args: argparse.Namespace):
    """``deepclean up``'s settings; ConfigError when --no-demo is given a DATA_DIR that does not
    exist."""
    from deepclean.utils.config import given_flags, load_settings
    from deepclean.utils.errors import ConfigError

    settings = load_settings(UpSettings, given_flags(args, UpSettings))
    if not settings.demo and not settings.data_dir.is_dir():
        raise ConfigError(
            f"setting data_dir = {str(settings.data_dir)!r}: no such directory (--no-demo reads "
            "real frames from it)"
        )
    return settings


def plan_banner(settings, plan, frames, ports: Ports) -> list[str]:
    """The lines printed before the services start: the demo detector's span, the demo
    schedule, and where to look."""
    from deepclean.services.up.plan import where_to_look

    banner = []
    if plan.backfill:
        banner.append(
            f"demo detector: live from GPS {plan.live_start}; history GPS {plan.backfill[0]}+"
            f"{plan.backfill[1]} s written meanwhile for the first training run"
        )
    elif plan.live_start is not None:
        banner.append(
            f"demo detector: resuming live from GPS {plan.live_start} (frames on disk "
            f"since {frames.oldest})"
        )
    if "--passes" in plan.procfile():
        banner.append(
            f"demo schedule: the monitor promotes a canary after {settings.demo_passes} "
            "passing checks "
            "(DEEPCLEAN_UP_DEMO_PASSES; DEEPCLEAN_MONITOR_PASSES sets the monitor's own)"
        )
    return banner + where_to_look(settings, ports)


def restart_backoff(settings):
    """The delay between a service's exit and its restart; ConfigError for a bad pair."""
    from deepclean.services.up.restart import Backoff
    from deepclean.utils.errors import ConfigError

    try:
        return Backoff(initial=settings.restart_delay, maximum=settings.restart_max_delay)
    except ValueError as exc:
        raise ConfigError(f"settings restart_delay and restart_max_delay: {exc}") from exc


def serve_metrics(settings, project: Path, banner: list[str]):
    """Serve up's /metrics when metrics_port is set (a line added to ``banner``); returns the
    supervisor's callback, or None."""
    if not settings.metrics_port:
        return None
    from deepclean.services.up.metrics import UpMetrics
    from deepclean.utils.disk import watch_disk

    metrics = UpMetrics()
    # free disk of the folders every service writes (the trainer has no /metrics of its own)
    watch_disk(metrics.registry, dict.fromkeys([project, settings.data_dir]))
    metrics.serve(settings.metrics_port)
    banner.append(f"up's metrics:   http://127.0.0.1:{settings.metrics_port}/metrics")
    return metrics.on_change


def service_token(project: Path, env_file: Path, banner: list[str]) -> str:
    """The token every service is given: the user's, else one of the project's own (closed by
    default); a line saying which is added to ``banner``."""
    from deepclean.utils.auth import TOKEN_ENV, TOKEN_FILE, project_token, read_token

    token = read_token()
    if token is None:
        token = project_token(project)
        banner.append(
            f"token: {project / TOKEN_FILE} (mode 0600), given to every service as {TOKEN_ENV}; "
            f'curl -H "Authorization: Bearer $(cat {project / TOKEN_FILE})" ...'
        )
    else:
        banner.append(f"token: {TOKEN_ENV} from the environment or {env_file}")
    return token
