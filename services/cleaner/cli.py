"""``deepclean cleaner``: the live cleaning service (see ``deepclean cleaner --help``)."""

from __future__ import annotations

import argparse
import logging

from deepclean.services.cleaner.settings import CleanerSettings
from deepclean.services.cli import locked_settings, run_until_signal, settings_command

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

HELP = "the live cleaning service: frames through Triton to cleaned frames"

logger = logging.getLogger(__name__)


add_parser = settings_command("cleaner", CleanerSettings, HELP, DESCRIPTION)


def run(args: argparse.Namespace) -> int:
    from deepclean.services.cleaner.service import CleanerService

    settings, lock = locked_settings(args, CleanerSettings)  # one writer per IFO
    written = run_until_signal(CleanerService(settings), lock)
    logger.info("cleaner stopped after writing %d frame(s)", written)
    return 0
