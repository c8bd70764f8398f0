"""``deepclean monitor``: the monitor service (see ``deepclean monitor --help``)."""

from __future__ import annotations

import argparse
import logging

from deepclean.services.cli import locked_settings, run_until_signal, settings_command
from deepclean.services.monitor.settings import MonitorSettings

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

HELP = "the monitor service: canary promotion, carousel, archive, status page"

logger = logging.getLogger(__name__)


add_parser = settings_command("monitor", MonitorSettings, HELP, DESCRIPTION)


def run(args: argparse.Namespace) -> int:
    from deepclean.services.monitor.app import create_app
    from deepclean.services.monitor.service import MonitorService
    from deepclean.utils.auth import read_token
    from deepclean.utils.errors import ServerUnavailableError
    from deepclean.utils.http_server import HttpServer

    settings, lock = locked_settings(args, MonitorSettings)  # one monitor per IFO
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
        run_until_signal(service, lock)
    finally:
        server.stop()
    logger.info("monitor stopped at GPS %s after %d check(s)", service.latest, service.checks_done)
    return 0
