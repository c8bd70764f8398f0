"""``deepclean validate``: injections' SNR in raw and cleaned strain, BNS range (``--help``)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
from pathlib import Path

from deepclean.services.cli import command_settings, settings_command
from deepclean.services.validate.settings import ValidateSettings

DESCRIPTION = """\
Check that cleaning preserves signals. For every injection of the list (deepclean simulate
--inject-*) inside the span: the matched-filter SNR with the injected waveform as template
in raw strain and in each cleaned series (PRODUCTION, OUT_DQ, CANARY when present), the
PSD from signal-free data around it, the time and phase offsets of the SNR peak, and the
fraction of the signal recovered when the frames hold the simulator's truth; for the whole
span, the BNS inspiral range (1.4 + 1.4 M_sun, SNR 8) of raw and cleaned data and its gain.
Writes OUTPUT_DIR/report.json, snr.png and range.png; exits 1 when a cleaned series lost
more than max_snr_loss of an injection's SNR. Method: docs/signals.md.

example: deepclean validate --data-dir ./data --project-dir ./project --ifo H1
         deepclean validate --data-dir ./data --cleaned-dir ./project/clean --output-dir ./v
"""

HELP = "injections' matched-filter SNR in raw and cleaned strain, BNS range; report + plots"

UNUSED = {"sample_rate", "freq_low", "freq_high"}

logger = logging.getLogger(__name__)


add_parser = settings_command("validate", ValidateSettings, HELP, DESCRIPTION, UNUSED)


def run(args: argparse.Namespace) -> int:
    from deepclean.services.validate import data as data_io
    from deepclean.services.validate.plots import range_png, snr_png
    from deepclean.services.validate.report import build_report
    from deepclean.utils.config import check_output_dir
    from deepclean.utils.errors import ConfigError
    from deepclean.utils.injection_list import read_injections

    s = command_settings(args, ValidateSettings)
    out = Path(s.output_dir or Path(s.project_dir) / "validate")
    check_output_dir(out, "output_dir")
    injections = s.injections or Path(s.data_dir) / f"injections-{s.ifo}.json"
    ifo, rows = read_injections(injections)
    if ifo != s.ifo:
        raise ConfigError(f"injection list {injections} is of {ifo}, not --ifo {s.ifo}")
    folders = data_io.source_folders(s.project_dir, s.ifo, s.cleaned_dir)
    start, duration = s.start, s.duration
    if start is None or duration is None:
        span = data_io.available_span(folders, s.ifo)
        if span is None:
            raise ConfigError(f"no cleaned frame of {s.ifo} in {', '.join(map(str, folders))}")
        start = span[0] if start is None else start
        duration = span[1] - start if duration is None else duration
    data = data_io.load(
        s.data_dir,
        s.project_dir,
        s.ifo,
        s.channels or Path(s.data_dir) / "channels.txt",
        start,
        duration,
        s.cleaned_dir,
        s.reference_dir,
    )
    report = build_report(data, rows, s.method(), s.ifo)
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "report.json", report)
    snr_png(report, out / "snr.png")
    range_png(report, out / "range.png")
    rng = report["range"]
    logger.info(
        "GPS %d+%d s: %d injection(s), %d failed; BNS range raw %s Mpc, %s; report %s",
        start,
        duration,
        len(report["injections"]),
        report["failed"],
        _fmt(rng["mpc"].get("raw")),
        ", ".join(
            f"{k} {_fmt(v)} Mpc ({rng['gain'].get(k, float('nan')):+.2%})"
            for k, v in rng["mpc"].items()
            if k != "raw"
        ),
        out / "report.json",
    )
    return 1 if report["failed"] else 0


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _write_json(path: Path, data) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
