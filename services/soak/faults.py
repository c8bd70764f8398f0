"""The faults a soak injects: when (pure schedule) and how (actions on a running ``deepclean up``).

Kills use the pid ``deepclean up`` logged for the service (``<name> started (pid=N)`` in
``up.log``): ``kill -9`` for a crash, SIGTERM for a restart; ``up`` starts it again. File
faults act on the simulator's output just after it appears, before the cleaner's one-second
look-ahead reads it: ``corrupt`` replaces a strain frame with garbage (the cleaner must treat
the second as dropped), ``nan`` rewrites a few seconds of witness frames with one channel NaN
(the cleaner must not let a NaN reach OUT_DQ). The simulator's own faults (dropped and
partially written frames) run throughout, from its settings. ``disk-full`` (``disk``) and
``kill-exporter-promoting`` (``promotion``) need the running soak and are injected there
(``run.Soak``).
"""

from __future__ import annotations

import os
import re
import signal
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np

from deepclean.utils.frames.gwf import Channel, read_frame, write_frame
from deepclean.utils.frames.naming import FrameKind, FrameName, frame_path, stream_dir
from deepclean.utils.ifo import IFO


class Fault(StrEnum):
    KILL_TRITON = "kill-triton"
    KILL_CLEANER = "kill-cleaner"
    KILL_EXPORTER = "kill-exporter"
    KILL_MONITOR = "kill-monitor"
    RESTART_MONITOR = "restart-monitor"
    KILL_EXPORTER_PROMOTING = "kill-exporter-promoting"  #: during a promotion (``promotion``)
    CORRUPT = "corrupt"
    NAN = "nan"
    DISK_FULL = "disk-full"  #: the project directory full for a while (``disk``)

    @property
    def service(self) -> str | None:
        """The service a kill or restart hits (None: a file or disk fault)."""
        if self in (Fault.CORRUPT, Fault.NAN, Fault.DISK_FULL):
            return None
        return self.value.split("-")[1]


@dataclass
class Event:
    """One fault: planned at ``at`` seconds after the start; what happened."""

    at: float
    fault: Fault
    done: float | None = None  #: seconds after the start it was injected
    recovered: float | None = None  #: seconds from injection to the service running again
    detail: str = ""
    gps: list[int] = field(default_factory=list)  #: seconds a file fault touched
    gps_at: float | None = None  #: GPS time of the injection
    gps_until: float | None = None  #: GPS time the fault ended (disk-full: space back)
    ok: bool = True  #: False: a check the fault makes afterwards failed (the soak fails)
    skipped: bool = False  #: not injected (the reason in ``detail``)


def schedule(
    duration: float, faults: list[Fault], first: float = 0.15, last: float = 0.8
) -> list[Event]:
    """``faults`` spread evenly over ``[first, last]`` of ``duration`` seconds, in the given
    order (the rest of the run shows the recovery)."""
    if not faults:
        return []
    if len(faults) == 1:
        return [Event(duration * first, faults[0])]
    step = (last - first) / (len(faults) - 1)
    return [Event(duration * (first + i * step), f) for i, f in enumerate(faults)]


def service_pid(up_log: Path, service: str) -> int | None:
    """The pid ``deepclean up`` last logged for ``service``."""
    found = re.findall(rf"^{re.escape(service)} started \(pid=(\d+)\)$", up_log.read_text(), re.M)
    return int(found[-1]) if found else None


def signal_service(up_log: Path, service: str, signum: int) -> int:
    """Send ``signum`` to ``service``; its pid."""
    pid = service_pid(up_log, service)
    if pid is None:
        raise RuntimeError(f"{service} has no pid in {up_log}")
    os.kill(pid, signum)
    return pid


def wait_restarted(up_log: Path, service: str, old_pid: int, timeout: float) -> float | None:
    """Seconds until ``up`` logged a new pid for ``service`` (None: not within ``timeout``)."""
    begun = time.monotonic()
    while time.monotonic() - begun < timeout:
        pid = service_pid(up_log, service)
        if pid is not None and pid != old_pid:
            return time.monotonic() - begun
        time.sleep(0.2)
    return None


def _newest_gps(directory: Path) -> int | None:
    gps = []
    for entry in os.scandir(directory) if directory.is_dir() else []:
        try:
            gps.append(FrameName.parse(entry.name).gps)
        except ValueError:
            continue
    return max(gps, default=None)


def _wait_for(path: Path, timeout: float = 10.0) -> bool:
    begun = time.monotonic()
    while not path.exists():
        if time.monotonic() - begun > timeout:
            return False
        time.sleep(0.02)
    return True


def corrupt_next_strain(data_dir: Path, ifo: IFO | str) -> list[int]:
    """Replace the next strain frame with garbage as soon as it appears; its GPS."""
    newest = _newest_gps(stream_dir(data_dir, FrameKind.STRAIN, ifo))
    if newest is None:
        return []
    target = frame_path(data_dir, FrameKind.STRAIN, ifo, newest + 2)
    if not _wait_for(target):
        return []
    tmp = target.with_name("." + target.name + ".soak")
    tmp.write_bytes(b"IGWD\0" + bytes(range(256)) * 64)
    tmp.replace(target)
    return [newest + 2]


def nan_burst(data_dir: Path, ifo: IFO | str, channels: list[str], seconds: int = 3) -> list[int]:
    """Rewrite the next ``seconds`` witness frames with the first witness all NaN; their GPS."""
    directory = stream_dir(data_dir, FrameKind.WITNESS, ifo)
    newest = _newest_gps(directory)
    if newest is None:
        return []
    touched = []
    for gps in range(newest + 2, newest + 2 + seconds):
        target = frame_path(data_dir, FrameKind.WITNESS, ifo, gps)
        if not _wait_for(target):
            continue
        try:
            read = read_frame(target, channels)
        except Exception:  # noqa: BLE001 - a dropped or partial frame: leave it
            continue
        out = []
        for i, name in enumerate(channels):
            ch = read[name]
            data = np.full_like(ch.data, np.nan) if i == 0 else ch.data
            out.append(Channel(name, data, ch.sample_rate, ch.t0))
        write_frame(target, out, allow_nonfinite=True)
        touched.append(gps)
    return touched


def inject(
    event: Event, up_log: Path, data_dir: Path, ifo: str, witnesses: list[str]
) -> int | None:
    """Inject ``event``'s fault; the pid signalled, if any."""
    fault = event.fault
    if fault is Fault.CORRUPT:
        event.gps = corrupt_next_strain(data_dir, ifo)
        event.detail = f"strain frame GPS {event.gps} replaced by garbage"
        return None
    if fault is Fault.NAN:
        event.gps = nan_burst(data_dir, ifo, witnesses)
        event.detail = f"{witnesses[0]} NaN in witness frames GPS {event.gps}"
        return None
    signum = signal.SIGTERM if fault is Fault.RESTART_MONITOR else signal.SIGKILL
    pid = signal_service(up_log, fault.service, signum)
    event.detail = f"{signal.Signals(signum).name} to {fault.service} (pid {pid})"
    return pid
