"""``deepclean clean-offline``: clean a span of frames with a trained model (see ``--help``)."""

from __future__ import annotations

import argparse
import logging

from deepclean.services.cli import leading_flags, profiled_settings, settings_command
from deepclean.services.offline.settings import OfflineSettings

DESCRIPTION = """\
Apply a trained DeepClean model to [start, start + duration) of the frames in DATA_DIR with
exactly the windowing and averaging of the streaming cleaner (inference windows of
inference_kernel_length s at inference_sampling_rate windows per second, averaging the last
max_latency s of each), band-pass the noise to the model's band(s), subtract it, and write
1-s frames <site>-<IFO>_llhoft_deepclean-<GPS>-1.gwf holding
<IFO>:GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION into OUTPUT_DIR, plus OUTPUT_DIR/report.json
(ASD ratios cleaned/raw in and out of band; cleaned/background when the frames hold the
simulator's truth). A few seconds before and after the span are read as context.
Defaults come from the profile (--profile), below the environment and flags. The band(s)
are the model's (its metadata.json), so there are no --freq-low/--freq-high here.
Nothing is written when the cleaned strain holds NaN/Inf or the in-band ASD ratio is above
max_in_band_ratio (unless --allow-worse); cleaned frames or a report already in OUTPUT_DIR
for the span are refused unless --overwrite.

example: deepclean clean-offline --data-dir ./data --ifo H1 --weights ./project/train/first \\
    --start 1400001100 --duration 256 --output-dir ./project/clean --profile cpu
"""

HELP = "clean a span of frames with a trained model; write cleaned frames and report.json"

UNUSED = {"project_dir", "freq_low", "freq_high"}

logger = logging.getLogger(__name__)


LEADING_FLAGS = leading_flags(
    profile=True,
    allow_worse="write the cleaned frames even when the in-band ASD ratio is above "
    "max_in_band_ratio (default: fail, write nothing)",
    overwrite="replace cleaned frames and report.json already in OUTPUT_DIR for the span "
    "(default: refuse)",
)
add_parser = settings_command(
    "clean-offline", OfflineSettings, HELP, DESCRIPTION, UNUSED, LEADING_FLAGS
)


def run(args: argparse.Namespace) -> int:
    from deepclean.services.offline.clean import clean_offline

    required = ("weights", "start", "duration", "output_dir")
    settings, _ = profiled_settings(args, OfflineSettings, required)
    report = clean_offline(
        settings,
        allow_worse=getattr(args, "allow_worse", False),
        overwrite=getattr(args, "overwrite", False),
    )
    logger.info(
        "cleaned GPS %d+%d s into %s: in-band ratio %s, out of band %s, vs background %s, "
        "%.1f s of data per s",
        settings.start,
        settings.duration,
        settings.output_dir,
        _fmt(report.get("in_band_ratio")),
        report.get("out_of_band_ratio"),
        _fmt(report.get("background_ratio")),
        report["throughput"] or 0.0,
    )
    return 0


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"
