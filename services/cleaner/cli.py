"""``deepclean cleaner``: the live cleaning service (see ``deepclean cleaner --help``)."""

from __future__ import annotations

import argparse
import logging

DESCRIPTION = """\
The DeepClean cleaner service. Follows the strain and witness frames in DATA_DIR, streams
the witnesses through Triton's deepclean-stream (geometry, channels, versions and filter
bands are read from the configs Triton serves) and writes one cleaned frame per input
second, in order, to $PROJECT_DIR/cleaned/<IFO>/: OUT_DQ (the product), PRODUCTION,
CANARY, the raw strain, the input state vector, DeepClean's state vector and the model
versions. Never stalls: without an answer from Triton within `grace` seconds a second is
written with OUT_DQ = raw strain, and cleaning resumes after reconnection and warm-up.
A restart resumes after the newest cleaned frame. /metrics and /health on --metrics-port.
Stops on SIGINT/SIGTERM.

example: deepclean cleaner --data-dir ./data --project-dir ./project --ifo H1 \\
           --triton-url 127.0.0.1:8001
"""

logger = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from deepclean.services.cleaner.settings import CleanerSettings
    from deepclean.utils.config import add_command

    return add_command(
        subparsers,
        "cleaner",
        CleanerSettings,
        help="the live cleaning service: frames through Triton to cleaned frames",
        description=DESCRIPTION,
    )


def run(args: argparse.Namespace) -> int:
    from deepclean.services.cleaner.service import CleanerService
    from deepclean.services.cleaner.settings import CleanerSettings
    from deepclean.utils.config import given_flags, load_settings
    from deepclean.utils.locks import lock_service
    from deepclean.utils.logs import configure_logging
    from deepclean.utils.signals import stop_on_signals

    settings = load_settings(CleanerSettings, given_flags(args, CleanerSettings))
    configure_logging("cleaner", settings.log_level)
    lock = lock_service(settings.project_dir, "cleaner", settings.ifo)  # one writer per IFO
    service = CleanerService(settings)
    try:
        with stop_on_signals(lambda _: service.stop()):
            written = service.run()
    finally:
        lock.release()
    logger.info("cleaner stopped after writing %d frame(s)", written)
    return 0
