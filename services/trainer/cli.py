"""``deepclean trainer``: the training service (see ``deepclean trainer --help``)."""

from __future__ import annotations

import argparse
import logging

from deepclean.services.cli import (
    leading_flags,
    profiled_settings,
    run_until_signal,
    settings_command,
)
from deepclean.services.trainer.settings import TrainerSettings

DESCRIPTION = """\
The DeepClean trainer service. Follows the frames in DATA_DIR, trains on the latest
train_duration seconds of analysis-ready data, then every retrain_cadence seconds trains
again starting from the previous weights (lr * fine_tune_decay), and sooner when the monitor's
record ($PROJECT_DIR/monitor/production_ratios.json) shows production's in-band ratio risen by
more than early_retrain_tolerance. Each successful run is
written to $PROJECT_DIR/train/<start>-<end>/ and announced by an HTTP POST to notify_url
(retried with backoff; an unreachable exporter is logged, not fatal). A failed or NaN run
goes to <start>-<end>.failed/ and never replaces the previous model. Stops on SIGINT/SIGTERM.

example: deepclean trainer --data-dir ./data --project-dir ./project --profile cpu
"""

HELP = "the training service: train and retrain on the live frame stream"

UNUSED = {"output_dir", "duration", "init_weights"}

logger = logging.getLogger(__name__)


add_parser = settings_command(
    "trainer", TrainerSettings, HELP, DESCRIPTION, UNUSED, leading_flags(profile=True)
)


def run(args: argparse.Namespace) -> int:
    from deepclean.services.trainer.service import TrainerService
    from deepclean.utils.config import check_output_dir
    from deepclean.utils.locks import lock_service

    settings, profile = profiled_settings(args, TrainerSettings)
    check_output_dir(settings.project_dir, "project_dir")  # before minutes of waiting for frames
    # the service checks its inputs (the channel list) before the lock file is made: bad input
    # leaves nothing behind
    service = TrainerService(settings, profile=profile)
    lock = lock_service(settings.project_dir, "trainer", settings.ifo)  # one trainer per IFO
    successes = run_until_signal(service, lock)
    logger.info("trainer stopped after %d run(s), %d successful", service.runs, successes)
    return 0
