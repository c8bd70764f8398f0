"""``deepclean train``: train DeepClean once on a span of frames (see ``deepclean train
--help``)."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
from pathlib import Path

from deepclean.services.cli import leading_flags, profiled_settings, settings_command
from deepclean.utils.training.settings import TrainingSettings

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

HELP = "train DeepClean on a span of frames"

UNUSED = {"project_dir"}

logger = logging.getLogger(__name__)

#: the files a training run writes into OUTPUT_DIR
MODEL_FILES = ("weights.pt", "metadata.json", "loss.png", "asd.png", "checkpoint.pt")


LEADING_FLAGS = leading_flags(
    profile=True,
    overwrite="replace a model already in OUTPUT_DIR once this run has succeeded (default: refuse)",
)
add_parser = settings_command("train", TrainingSettings, HELP, DESCRIPTION, UNUSED, LEADING_FLAGS)


def run(args: argparse.Namespace) -> int:
    from deepclean.utils.channels import parse_channels
    from deepclean.utils.config import check_output_dir
    from deepclean.utils.training.preflight import check_span_memory
    from deepclean.utils.training.span_io import load_span

    required = ("channels", "start", "duration", "output_dir")
    settings, profile = profiled_settings(args, TrainingSettings, required)
    output_dir = Path(os.path.abspath(check_output_dir(settings.output_dir, "output_dir")))
    present = _model_present(output_dir, overwrite=getattr(args, "overwrite", False))
    channels = parse_channels(settings.channels, settings.ifo)
    check_span_memory(
        len(channels), settings.duration, settings.sample_rate, "duration", settings.duration
    )
    _check_init_weights(settings.init_weights, list(channels.names))
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
    scratch, result = _train_in_scratch(span, settings, output_dir, profile, background)
    _install(scratch, output_dir, present)
    logger.info("done in %.0f s: %s", result.seconds, output_dir)
    return 0


def _model_present(output_dir: Path, overwrite: bool) -> list[str]:
    """The model files already in ``output_dir``; OutputExistsError when there are some and
    ``overwrite`` was not given."""
    from deepclean.utils.errors import OutputExistsError

    present = [name for name in MODEL_FILES if (output_dir / name).exists()]
    if present and not overwrite:
        raise OutputExistsError(
            f"setting output_dir = {str(output_dir)!r} already holds a model "
            f"({', '.join(present)}); "
            "give --overwrite to replace it after a successful run, or another --output-dir"
        )
    return present


def _check_init_weights(init_weights: Path | None, channels: list[str]) -> None:
    """ConfigError unless ``init_weights`` (when given) is a readable model trained on
    ``channels``."""
    if init_weights is None:
        return
    from deepclean.utils.errors import ConfigError
    from deepclean.utils.training import artifacts

    init = artifacts.read_metadata(init_weights)
    artifacts.load_state(init_weights)
    if init.channels != channels:
        raise ConfigError(
            f"setting init_weights = {str(init_weights)!r}: trained on "
            f"channels {init.channels}, "
            f"not {channels}; allowed: a model of the same channels"
        )


def _train_in_scratch(span, settings, output_dir: Path, profile: str, background):
    """Train into a new scratch folder beside ``output_dir``; returns it and the result. On
    failure the scratch folder becomes ``<output_dir>.failed`` (or is removed when training
    wrote nothing) and the error goes on."""
    from deepclean.utils.training.pipeline import train_model

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
    return scratch, result


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
