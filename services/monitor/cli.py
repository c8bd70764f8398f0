"""``deepclean monitor``: the monitor service (see ``deepclean monitor --help``)."""

from __future__ import annotations

import argparse
import logging

DESCRIPTION = """\
The DeepClean monitor. Follows the cleaned frames in $PROJECT_DIR/cleaned/<IFO>/ (written by
the cleaner: products, raw strain, state vector, model versions). While the served canary is
newer than production, every monitor_period seconds of data it computes the mean in-band ASD
ratio of canary/raw and production/raw over the last asd_segment_length seconds (band from
the canary's version info) and promotes the canary through the exporter (POST /promote, with
Authorization: Bearer $DEEPCLEAN_TOKEN, from the environment or ./.env) after `passes`
consecutive passes: canary/raw
<= max_ratio and no worse than production by more than `tolerance`. After `failures`
consecutive failures the canary is rejected and not checked again. Seconds that are missing,
tapered, not analysis-ready or not warmed up are skipped, not counted.
Keeps at most max_files cleaned frames and writes $PROJECT_DIR/archive/<IFO>/ frames every
write_cadence seconds (a gap splits a span into shorter files). Status page on
http://HOST:PORT/ (also /status, /health, /metrics). Stops on SIGINT/SIGTERM.

example: deepclean monitor --project-dir ./project --data-dir ./data --ifo H1 \\
    --exporter-url http://127.0.0.1:5000 --triton-url 127.0.0.1:8001 --port 5001
"""

logger = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from deepclean.services.monitor.settings import MonitorSettings
    from deepclean.utils.config import add_command

    return add_command(
        subparsers,
        "monitor",
        MonitorSettings,
        help="the monitor service: canary promotion, carousel, archive, status page",
        description=DESCRIPTION,
    )


def run(args: argparse.Namespace) -> int:
    from deepclean.services.monitor.app import create_app
    from deepclean.services.monitor.service import MonitorService
    from deepclean.services.monitor.settings import MonitorSettings
    from deepclean.utils.auth import read_token
    from deepclean.utils.config import given_flags, load_settings
    from deepclean.utils.errors import ServerUnavailableError
    from deepclean.utils.http_server import HttpServer
    from deepclean.utils.locks import lock_service
    from deepclean.utils.logs import configure_logging
    from deepclean.utils.signals import stop_on_signals

    settings = load_settings(MonitorSettings, given_flags(args, MonitorSettings))
    configure_logging("monitor", settings.log_level)
    lock = lock_service(settings.project_dir, "monitor", settings.ifo)  # one monitor per IFO
    service = MonitorService(settings, token=read_token())
    app = create_app(
        service.state,
        ifo=str(settings.ifo),
        refresh=settings.refresh,
        max_ratio=settings.max_ratio,
        history=settings.plot_history,
        stale_after=max(30.0, 3 * settings.frame_timeout),
        liveness=service.liveness,
        project_dir=settings.project_dir,
        production_status=service.checker.production.status,
        switch=service.checker.switch.state,
    )
    try:
        server = HttpServer(app, settings.host, settings.port, name="deepclean-monitor")
    except OSError as exc:
        lock.release()
        raise ServerUnavailableError(
            f"status page cannot listen on {settings.host}:{settings.port}: {exc}"
        ) from exc
    server.start()
    logger.info("status page on %s", server.url)
    try:
        with stop_on_signals(lambda _: service.stop()):
            service.run()
    finally:
        server.stop()
        lock.release()
    logger.info("monitor stopped at GPS %s after %d check(s)", service.latest, service.checks_done)
    return 0
