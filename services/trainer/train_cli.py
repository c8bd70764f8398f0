"""``deepclean train``: train DeepClean once on a span of frames (see ``deepclean train
--help``)."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
from pathlib import Path

DESCRIPTION = """\
Train DeepClean on the analysis-ready data of one span of frames in DATA_DIR and write
OUTPUT_DIR/weights.pt (state dict: network + scalers; load with weights_only=True),
OUTPUT_DIR/metadata.json, loss.png, asd.png and checkpoint.pt. Defaults come from the
profile (--profile; [tool.deepclean.profiles.<name>] in pyproject.toml), below the
environment and flags. With --init-weights the network starts from a previous model and the
learning rate is multiplied by fine_tune_decay. Everything that can be checked is checked
before data are read (paths, channels, geometry, memory). The run trains in a scratch folder
beside OUTPUT_DIR: an OUTPUT_DIR already holding a model is refused unless --overwrite, and
its files are replaced only by a run that succeeded. Exit status 1 when training or
validation fails: nothing in OUTPUT_DIR is touched, and the failed run's plots and checkpoint
go to OUTPUT_DIR.failed/ for diagnosis.

example: deepclean train --data-dir ./data --ifo H1 --channels ./data/channels.txt \\
    --start 1400000000 --duration 1024 --output-dir ./project/train/first --profile cpu
"""

logger = logging.getLogger(__name__)

#: the files a training run writes into OUTPUT_DIR
MODEL_FILES = ("weights.pt", "metadata.json", "loss.png", "asd.png", "checkpoint.pt")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from deepclean.utils.config import add_command
    from deepclean.utils.training.settings import TrainingSettings

    return add_command(
        subparsers,
        "train",
        TrainingSettings,
        help="train DeepClean on a span of frames",
        description=DESCRIPTION,
        first=_first_flags,
        exclude={"project_dir"},
    )


def _first_flags(parser: argparse.ArgumentParser) -> None:
    from deepclean.utils.training.settings import add_profile_flag

    add_profile_flag(parser)
    parser.add_argument(
        "--overwrite",
        action="store_true",
        default=False,
        help="replace a model already in OUTPUT_DIR once this run has succeeded (default: refuse)",
    )


def run(args: argparse.Namespace) -> int:
    from deepclean.utils.channels import parse_channels
    from deepclean.utils.config import check_output_dir, require
    from deepclean.utils.errors import OutputExistsError
    from deepclean.utils.logs import configure_logging
    from deepclean.utils.training import artifacts
    from deepclean.utils.training.pipeline import train_model
    from deepclean.utils.training.preflight import check_span_memory
    from deepclean.utils.training.settings import TrainingSettings, load_profiled_settings
    from deepclean.utils.training.span_io import load_span

    settings, profile = load_profiled_settings(TrainingSettings, args)
    require(settings, ("channels", "start", "duration", "output_dir"))
    configure_logging("train", settings.log_level)
    output_dir = Path(os.path.abspath(check_output_dir(settings.output_dir, "output_dir")))
    present = [name for name in MODEL_FILES if (output_dir / name).exists()]
    if present and not getattr(args, "overwrite", False):
        raise OutputExistsError(
            f"setting output_dir = {str(output_dir)!r} already holds a model "
            f"({', '.join(present)}); "
            "give --overwrite to replace it after a successful run, or another --output-dir"
        )
    channels = parse_channels(settings.channels, settings.ifo)
    check_span_memory(
        len(channels), settings.duration, settings.sample_rate, "duration", settings.duration
    )
    if settings.init_weights is not None:
        init = artifacts.read_metadata(settings.init_weights)
        artifacts.load_state(settings.init_weights)
        if init.channels != list(channels.names):
            from deepclean.utils.errors import ConfigError

            raise ConfigError(
                f"setting init_weights = {str(settings.init_weights)!r}: trained on "
                f"channels {init.channels}, "
                f"not {list(channels.names)}; allowed: a model of the same channels"
            )
    logger.info(
        "profile %s; training on GPS %d + %d s from %s",
        profile,
        settings.start,
        settings.duration,
        settings.data_dir,
    )
    span, background = load_span(
        settings.data_dir,
        settings.ifo,
        channels,
        settings.start,
        settings.duration,
        sample_rate=settings.sample_rate,
        background_channel=settings.background_channel,
    )
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.training-", dir=output_dir.parent))
    try:
        result = train_model(
            span,
            settings,
            scratch,
            init_weights=settings.init_weights,
            profile=profile,
            background_channel=background,
        )
    except BaseException:
        if not any(scratch.iterdir()):  # failed before training wrote anything
            scratch.rmdir()
            raise
        failed = output_dir.with_name(output_dir.name + ".failed")
        shutil.rmtree(failed, ignore_errors=True)
        os.replace(scratch, failed)
        logger.error(
            "training failed; %s is untouched; the run's plots and checkpoint are in %s",
            output_dir,
            failed,
        )
        raise
    _install(scratch, output_dir, present)
    logger.info("done in %.0f s: %s", result.seconds, output_dir)
    return 0


def _install(scratch: Path, output_dir: Path, replaced: list[str]) -> None:
    """Move the successful run's files from ``scratch`` into ``output_dir`` (weights and
    metadata last, each atomically), then remove ``scratch``."""
    from deepclean.utils.files import durable_replace

    output_dir.mkdir(parents=True, exist_ok=True)
    order = sorted(
        os.listdir(scratch),
        key=lambda n: (n in ("weights.pt", "metadata.json"), n == "metadata.json"),
    )
    for name in order:
        durable_replace(scratch / name, output_dir / name)
    # an earlier model's file this run did not make (e.g. asd.png)
    for name in set(replaced) - set(order):
        (output_dir / name).unlink(missing_ok=True)
    shutil.rmtree(scratch, ignore_errors=True)
    if replaced:
        logger.info("--overwrite: replaced the model in %s", output_dir)
