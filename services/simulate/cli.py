"""``deepclean simulate``: write simulated detector frames (see ``deepclean simulate --help``)."""

from __future__ import annotations

import argparse
import threading

from deepclean.services.cli import command_settings, leading_flags, settings_command
from deepclean.services.simulate.settings import SimulateSettings

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


#: shared settings the simulator does not use (strain is always written at 16384 Hz and
#: read back at the sample rate of whoever reads it): not offered as flags
UNUSED = {"sample_rate", "freq_low", "freq_high", "project_dir"}

HELP = "write simulated detector frames (strain, witnesses, faults)"

LEADING_FLAGS = leading_flags(
    overwrite="replace frames (and a different channel list) already in DATA_DIR for the "
    "span (default: refuse)"
)
add_parser = settings_command(
    "simulate", SimulateSettings, HELP, DESCRIPTION, UNUSED, LEADING_FLAGS
)


def run(args: argparse.Namespace) -> int:
    from deepclean.services.simulate.loop import run_simulation
    from deepclean.utils.signals import stop_on_signals

    settings = command_settings(args, SimulateSettings)
    stop = threading.Event()
    with stop_on_signals(lambda _: stop.set()):
        run_simulation(settings, stop, overwrite=getattr(args, "overwrite", False))
    return 0
