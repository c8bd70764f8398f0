"""``deepclean trainer``: the training service (see ``deepclean trainer --help``)."""

from __future__ import annotations

import argparse
import logging

DESCRIPTION = """\
The DeepClean trainer service. Follows the frames in DATA_DIR, trains on the latest
train_duration seconds of analysis-ready data, then every retrain_cadence seconds trains
again starting from the previous weights (lr * fine_tune_decay). Each successful run is
written to $PROJECT_DIR/train/<start>-<end>/ and announced by an HTTP POST to notify_url
(retried with backoff; an unreachable exporter is logged, not fatal). A failed or NaN run
goes to <start>-<end>.failed/ and never replaces the previous model. Stops on SIGINT/SIGTERM.

example: deepclean trainer --data-dir ./data --project-dir ./project --profile cpu
"""

logger = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from deepclean.services.trainer.settings import TrainerSettings
    from deepclean.utils.config import add_command
    from deepclean.utils.training.settings import add_profile_flag

    return add_command(
        subparsers,
        "trainer",
        TrainerSettings,
        help="the training service: train and retrain on the live frame stream",
        description=DESCRIPTION,
        exclude={"output_dir", "duration", "init_weights"},
        first=add_profile_flag,
    )


def run(args: argparse.Namespace) -> int:
    from deepclean.services.trainer.service import TrainerService
    from deepclean.services.trainer.settings import TrainerSettings
    from deepclean.utils.config import check_output_dir
    from deepclean.utils.locks import lock_service
    from deepclean.utils.logs import configure_logging
    from deepclean.utils.signals import stop_on_signals
    from deepclean.utils.training.settings import load_profiled_settings

    settings, profile = load_profiled_settings(TrainerSettings, args)
    configure_logging("trainer", settings.log_level)
    check_output_dir(settings.project_dir, "project_dir")  # before minutes of waiting for frames
    # the service checks its inputs (the channel list) before the lock file is made: bad input
    # leaves nothing behind
    service = TrainerService(settings, profile=profile)
    lock = lock_service(settings.project_dir, "trainer", settings.ifo)  # one trainer per IFO
    try:
        with stop_on_signals(lambda _: service.stop()):
            successes = service.run()
    finally:
        lock.release()
    logger.info("trainer stopped after %d run(s), %d successful", service.runs, successes)
    return 0
