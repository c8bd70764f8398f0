"""``deepclean train``: train DeepClean once on a span of frames (see ``deepclean train --help``)."""

from __future__ import annotations

import argparse
import logging

DESCRIPTION = """\
Train DeepClean on the analysis-ready data of one span of frames in DATA_DIR and write
OUTPUT_DIR/weights.pt (state dict: network + scalers; load with weights_only=True),
OUTPUT_DIR/metadata.json, loss.png and asd.png. Defaults come from the profile
(--profile; [tool.deepclean.profiles.<name>] in pyproject.toml), below the environment
and flags. With --init-weights the network starts from a previous model and the learning
rate is multiplied by fine_tune_decay. Exit status 1 when training or validation fails
(nothing is written over an earlier model then).

example: deepclean train --data-dir ./data --ifo H1 --channels ./data/channels.txt \\
    --start 1400000000 --duration 1024 --output-dir ./project/train/first --profile cpu
"""

logger = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from deepclean.utils.config import add_command
    from deepclean.utils.training.settings import TrainingSettings, add_profile_flag

    return add_command(
        subparsers, "train", TrainingSettings,
        help="train DeepClean on a span of frames", description=DESCRIPTION, first=add_profile_flag,
    )


def run(args: argparse.Namespace) -> int:
    from deepclean.utils.config import require
    from deepclean.utils.logs import configure_logging
    from deepclean.utils.training.pipeline import train_model
    from deepclean.utils.training.settings import TrainingSettings, load_profiled_settings
    from deepclean.utils.training.span_io import load_span

    settings, profile = load_profiled_settings(TrainingSettings, args)
    require(settings, ("channels", "start", "duration", "output_dir"))
    configure_logging("train", settings.log_level)
    logger.info(
        "profile %s; training on GPS %d + %d s from %s", profile, settings.start, settings.duration, settings.data_dir
    )
    span, background = load_span(
        settings.data_dir,
        settings.ifo,
        settings.channels,
        settings.start,
        settings.duration,
        sample_rate=settings.sample_rate,
        background_channel=settings.background_channel,
    )
    result = train_model(
        span,
        settings,
        settings.output_dir,
        init_weights=settings.init_weights,
        profile=profile,
        background_channel=background,
    )
    logger.info("done in %.0f s: %s", result.seconds, result.output_dir)
    return 0
