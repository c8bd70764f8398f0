"""``deepclean export-model``: export trained DeepClean weights into a Triton model repository."""

from __future__ import annotations

import argparse
import logging

DESCRIPTION = """\
Export trained DeepClean weights as the next version of the model 'deepclean' in a Triton
model repository (verified against the torch model; export_status.json beside it), and
write the streaming models (snapshotter, aggregator-production, aggregator-canary) and
the ensemble 'deepclean-stream'. The new version becomes the canary; in a new repository
it is the production version too. Nothing is half-written: on any error the repository
is left as it was. DeepClean's config parameter version_info records each version's
training run (span, losses, bands and filter bands from its metadata.json). Without an
explicit IFO (--ifo, IFO or DEEPCLEAN_EXPORT_MODEL_IFO) the channel names give it.

The architecture comes last, after the options.

example: deepclean export-model --repository-directory R --channels channels.txt \\
    --weights train/run1 --kernel-length 1 --stride-length 0.015625 --sample-rate 4096 \\
    --max-latency 0.5 --platform python autoencoder
"""

logger = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from deepclean.services.exporter.settings import (
        Architecture,
        ExportModelSettings,
        ExportPlatform,
    )
    from deepclean.utils.config import add_command

    # --platform without argparse choices: a bad value is reported in one line by the settings
    parser = add_command(
        subparsers,
        "export-model",
        ExportModelSettings,
        help="export trained weights and the streaming ensemble into a Triton model repository",
        description=DESCRIPTION,
        exclude={"platform", "verbose"},
    )
    parser.add_argument(
        "--platform",
        dest="platform",
        default=argparse.SUPPRESS,
        help=f"platform of the DeepClean step: {', '.join(p.value for p in ExportPlatform)} "
        f"(default: {ExportPlatform.ONNX.value})",
    )
    parser.add_argument(
        "--verbose",
        dest="verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log at DEBUG level",
    )
    # not required here: a list option right before it (--max-latency 0.5 autoencoder) swallows
    # it in argparse; run() takes it back from there (see _architecture)
    architectures = parser.add_subparsers(dest="architecture", metavar="ARCHITECTURE")
    architectures.add_parser(
        Architecture.AUTOENCODER.value, help="the DeepClean 1-D convolutional autoencoder"
    )
    return parser


def _architecture(args: argparse.Namespace) -> str:
    """The architecture subcommand, also when argparse gave it to the list option before it."""
    from deepclean.services.exporter.settings import Architecture
    from deepclean.utils.errors import ConfigError

    if getattr(args, "architecture", None):
        return args.architecture
    names = {a.value for a in Architecture}
    for flag in ("channels", "max_latency", "freq_low", "freq_high"):
        values = getattr(args, flag, None)
        if isinstance(values, list) and len(values) > 1 and values[-1] in names:
            return values.pop()
    raise ConfigError(f"give the architecture after the options: one of {sorted(names)}")


def run(args: argparse.Namespace) -> int:
    from deepclean.services.exporter.channels import settings_with_channel_ifo
    from deepclean.services.exporter.export import (
        ExportTarget,
        export_model,
        load_trained,
        stream_spec,
    )
    from deepclean.services.exporter.settings import Architecture, ExportModelSettings
    from deepclean.utils.channels import parse_channels
    from deepclean.utils.config import given_flags, load_settings, require
    from deepclean.utils.logs import configure_logging

    architecture = Architecture(_architecture(args))
    cli = given_flags(args, ExportModelSettings)
    settings = load_settings(ExportModelSettings, cli)
    require(settings, ("channels", "weights"))
    settings = settings_with_channel_ifo(settings, cli, settings.channels)
    configure_logging("export-model", "DEBUG" if settings.verbose else settings.log_level)
    if not settings.verbose:  # torch.onnx and onnx_ir chatter about every op and pass
        for name in ("torch.onnx", "onnx_ir", "onnxscript"):
            logging.getLogger(name).setLevel(logging.ERROR)
    channels = parse_channels(settings.channels, settings.ifo)
    trained = load_trained(
        settings.weights, channels, settings.sample_rate, architecture, settings.bands
    )
    target = ExportTarget.of(settings)
    spec = stream_spec(target, channels, {"weights": str(trained.weights)})
    result = export_model(target, channels, trained, spec)
    for path in result.paths:
        logger.info("wrote %s", path)
    return 0
