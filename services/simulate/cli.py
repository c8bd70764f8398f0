"""``deepclean simulate``: write simulated detector frames (see ``deepclean simulate --help``)."""

from __future__ import annotations

import argparse
import threading

DESCRIPTION = """\
Simulated detector: writes 1 s GWF frames of strain (+ state vector, + ground truth
<IFO>:SIM-BACKGROUND unless --no-truth) to $DATA_DIR/kafka/<IFO>/ and witness channels at
native rates to $DATA_DIR/lldetchar/<IFO>/, plus the channel list ($DATA_DIR/channels.txt).
With --backfill the span is written as fast as possible; otherwise one frame per clock
second (times --speed). Without --duration it runs until SIGINT/SIGTERM. Data and faults
are deterministic for --seed. Nothing is written over: a data directory that already holds
frames of the IFO for the span (or a channel list of other channels) is refused unless
--overwrite, or continued when the seed and settings are those that wrote them (recorded in
$DATA_DIR/.simulate-<IFO>.json): complete frames are kept, the others written. Progress: one
line per frame in real time, one every 10 s in backfill.

example: deepclean simulate --data-dir ./data --ifo H1 --start 1400000000 --duration 60 --backfill
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from deepclean.services.simulate.settings import SimulateSettings
    from deepclean.utils.config import add_command

    return add_command(
        subparsers,
        "simulate",
        SimulateSettings,
        help="write simulated detector frames (strain, witnesses, faults)",
        description=DESCRIPTION,
        exclude=UNUSED,
        first=_add_overwrite_flag,
    )


#: shared settings the simulator does not use (strain is always written at 16384 Hz and
#: read back at the sample rate of whoever reads it): not offered as flags
UNUSED = {"sample_rate", "freq_low", "freq_high", "project_dir"}


def _add_overwrite_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--overwrite",
        action="store_true",
        default=False,
        help="replace frames (and a different channel list) already in DATA_DIR for the span "
        "(default: refuse)",
    )


def run(args: argparse.Namespace) -> int:
    from deepclean.services.simulate.loop import run_simulation
    from deepclean.services.simulate.settings import SimulateSettings
    from deepclean.utils.config import given_flags, load_settings
    from deepclean.utils.logs import configure_logging
    from deepclean.utils.signals import stop_on_signals

    settings = load_settings(SimulateSettings, given_flags(args, SimulateSettings))
    configure_logging("simulate", settings.log_level)
    stop = threading.Event()
    with stop_on_signals(lambda _: stop.set()):
        run_simulation(settings, stop, overwrite=getattr(args, "overwrite", False))
    return 0
