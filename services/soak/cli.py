"""``deepclean soak``: the pipeline under faults for a while, verified from disk, a report."""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import tempfile
from pathlib import Path

DESCRIPTION = """\
Run the whole pipeline (deepclean up on the demo detector, a short training schedule, free
ports, its own work directory) for --duration seconds after the first cleaned frame while
injecting faults on a schedule: the simulator's dropped and partially written frames
throughout, and --faults spread over the run (kill-triton, kill-cleaner, kill-exporter,
kill-monitor: kill -9; restart-monitor: SIGTERM; corrupt: a strain frame replaced by
garbage; nan: a witness NaN for 3 s; kill-exporter-promoting: kill -9 of the exporter the
moment the next promotion writes the new production pin, then a check that one production
version is served on disk, by Triton, the exporter and the cleaner; disk-full: the project
directory, a tmpfs of its own, full for --disk-full-seconds (needs mount rights, else skipped
with the reason in the report)). Then Ctrl-C, and a verification from the files on disk
alone: every GPS second with a readable strain frame has exactly one cleaned second
(carousel + archive, never written twice), no OUT_DQ sample is NaN, OUT_DQ was never cleaned
by a production version whose in-band ratio measured from the cleaned frames is above 1, no
service was dead at the end. Writes a markdown report (--report) with plots of the latency and
of the monitor's ratios (faults, promotions and restarts marked) and each fault's alert from
Prometheus, and exits 0 only if the verification passed.

example: deepclean soak --duration 3600 --report docs/soak/soak-1h.md --retrain-cadence 900 \\
  --faults kill-triton,kill-exporter-promoting,kill-cleaner,disk-full,corrupt,kill-triton,\\
nan,kill-exporter,restart-monitor,kill-triton
"""

DEFAULT_FAULTS = "kill-triton,kill-cleaner,corrupt,nan,kill-exporter,restart-monitor"

logger = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "soak",
        help="run the pipeline under faults, verify from disk, write a report",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=300.0,
        help="seconds of soak after the first cleaned frame (default: 300)",
    )
    parser.add_argument(
        "--faults",
        default=DEFAULT_FAULTS,
        help=f"comma-separated faults in order (default: {DEFAULT_FAULTS})",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the pipeline's data and project go (default: a temporary folder, removed "
        "after the report unless --keep)",
    )
    _add_fault_options(parser)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        help="markdown report to write (its plot beside it; default: <workdir>/soak.md)",
    )
    parser.add_argument(
        "--no-prometheus", action="store_true", help="do not start Prometheus even when installed"
    )
    return parser


def _add_fault_options(parser: argparse.ArgumentParser) -> None:
    from deepclean.services.soak.disk import DISK_FULL_S

    parser.add_argument(
        "--drop-rate",
        type=float,
        default=0.02,
        help="fraction of frames the simulator drops (default: %(default)s)",
    )
    parser.add_argument(
        "--partial-rate",
        type=float,
        default=0.02,
        help="fraction of frames the simulator writes in pieces (default: %(default)s)",
    )
    parser.add_argument(
        "--disk-full-seconds",
        type=float,
        default=DISK_FULL_S,
        help="how long the disk-full fault keeps the project directory full (default: %(default)s)",
    )
    parser.add_argument(
        "--retrain-cadence",
        type=float,
        default=None,
        help="seconds between training runs (default: one training run only); more runs give "
        "kill-exporter-promoting more promotions to hit",
    )


def run(args: argparse.Namespace) -> int:
    from deepclean.services.soak.faults import schedule
    from deepclean.services.soak.run import Soak
    from deepclean.utils.logs import configure_logging

    configure_logging("soak", "INFO")
    faults = _faults(args)
    temporary = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="deepclean-soak-")) if temporary else args.workdir
    soak = Soak(
        workdir,
        args.duration,
        schedule(args.duration, faults),
        drop_rate=args.drop_rate,
        partial_rate=args.partial_rate,
        prometheus=not args.no_prometheus and shutil.which("prometheus") is not None,
        disk_full_seconds=args.disk_full_seconds,
        retrain_cadence=args.retrain_cadence,
        log=logger.info,
    )
    try:
        status, alive = _run(soak)
        ok = _verify_and_report(args, soak, status, alive)
    finally:
        soak.unmount()
    if temporary and not args.keep and args.report is not None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


def _faults(args: argparse.Namespace) -> list:
    """The --faults as :class:`Fault` values, after checking the numbers (one clear line)."""
    from deepclean.services.soak.faults import Fault
    from deepclean.utils.errors import ConfigError

    try:
        faults = [Fault(f) for f in args.faults.split(",") if f]
    except ValueError as exc:
        raise ConfigError(
            f"--faults {args.faults!r}: {exc}; allowed: {', '.join(f.value for f in Fault)}"
        ) from exc
    if args.duration <= 0 or not (0 <= args.drop_rate < 0.5) or not (0 <= args.partial_rate < 0.5):
        raise ConfigError(
            f"--duration {args.duration} must be positive seconds, --drop-rate {args.drop_rate} "
            f"and --partial-rate {args.partial_rate} fractions in [0, 0.5)"
        )
    return faults


def _run(soak) -> tuple[int, dict[str, bool]]:
    """Start the pipeline, inject the faults, read the alerts, stop; (up's exit status, which
    services answered at the end)."""
    from deepclean.utils.channels import read_channel_file

    alive: dict[str, bool] = {}
    try:
        soak.start()
        channels = read_channel_file(soak.data / "channels.txt")
        soak.run_faults(channels[1:])
        alive = soak.services_alive()
        soak.alert_history()
    finally:
        status = soak.stop()
    logger.info("soak: deepclean up stopped with status %s", status)
    return status, alive


def _verify_and_report(args: argparse.Namespace, soak, status: int, alive: dict) -> bool:
    """The verification from disk and the report; whether the soak passed."""
    from deepclean.services.soak.models import monitor_bands, version_ratios
    from deepclean.services.soak.report import Outcome, write_report
    from deepclean.services.soak.run import IFO
    from deepclean.services.soak.verify import verify

    seconds, events = sorted(soak.watch.seen), soak.events
    verification = verify(
        soak.data,
        soak.project,
        IFO,
        seconds[0],
        seconds[-1] + 1,
        soak.watch.rewritten,
        full=[(e.gps_at, e.gps_until) for e in events if e.gps_until is not None],
    )
    ratios = version_ratios(soak.project, IFO, monitor_bands(soak.project / "Procfile"))
    restarts = [
        line
        for line in soak.up_log.read_text().splitlines()
        if re.search(r" exited \(rc=| restarting ", line)
    ]
    outcome = Outcome(verification, ratios, events, restarts, alive, status)
    report = args.report or soak.workdir / "soak.md"
    write_report(
        report, f"Soak of {args.duration:g} s", _settings(args, soak, status), outcome, soak
    )
    logger.info("soak: %s; report %s", verification.summary(), report)
    return outcome.passed


def _settings(args: argparse.Namespace, soak, status: int) -> dict[str, object]:
    return {
        "duration after the first cleaned frame": f"{args.duration:g} s",
        "faults": args.faults,
        "simulator drop rate": args.drop_rate,
        "simulator partial-write rate": args.partial_rate,
        "retrain cadence": f"{args.retrain_cadence:g} s" if args.retrain_cadence else "none",
        "Prometheus": "yes" if soak.prometheus else "no (not installed or --no-prometheus)",
        "project directory": _where_project(soak.tmpfs),
        "up exit status": status,
    }


def _where_project(tmpfs: str | None) -> str:
    if tmpfs == "mounted":
        return "a tmpfs of its own (for the disk-full fault)"
    return "the work directory's disk" + (f" (disk-full skipped: {tmpfs})" if tmpfs else "")
