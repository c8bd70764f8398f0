"""Write simulated seconds as frame files, applying the fault plan.

A normal frame is written atomically with :func:`deepclean.utils.frames.gwf.write_frame`.
A dropped frame is not written at all. A partial frame is first serialised to a private
scratch folder, then appears at its final path non-atomically: the first of
``partial_pieces`` pieces at once (a truncated file), the others appended by a background
thread over ``partial_delay_s`` wall-clock seconds. :meth:`FrameSink.close` completes every
pending partial file at once, so no file is left truncated.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepclean.services.simulate.faults import READY, FaultPlan
from deepclean.services.simulate.settings import Stream
from deepclean.utils.errors import DeepCleanError
from deepclean.utils.frames.gwf import Channel, write_frame
from deepclean.utils.frames.naming import (
    STATE_RATE_HZ,
    FrameKind,
    frame_path,
    state_channel,
    strain_channel,
)
from deepclean.utils.ifo import IFO
from deepclean.utils.simulation.channels import BACKGROUND, INJECTION, full_name
from deepclean.utils.simulation.detector import SimulatedDetector, SimulatedSecond

logger = logging.getLogger(__name__)

KINDS = {Stream.STRAIN: FrameKind.STRAIN, Stream.WITNESS: FrameKind.WITNESS}


@dataclass(frozen=True)
class FrameOutcome:
    """What happened to one GPS second."""

    gps: int
    written: tuple[Stream, ...]  #: streams whose file was written (atomically or in pieces)
    dropped: tuple[Stream, ...]
    partial: tuple[Stream, ...]
    ready: bool  #: every state-vector sample analysis-ready
    write_s: float  #: wall seconds spent writing (partial completions excluded)


class FrameSink:
    """Writes :class:`SimulatedSecond` objects under ``data_dir`` for ``ifo``."""

    def __init__(
        self,
        data_dir: Path,
        ifo: IFO | str,
        plan: FaultPlan,
        *,
        truth: bool = True,
        partial_pieces: int = 3,
        partial_delay_s: float = 0.5,
    ) -> None:
        if partial_pieces < 2:
            raise ValueError(f"partial_pieces {partial_pieces} must be at least 2")
        self.data_dir = Path(data_dir)
        self.ifo = IFO(ifo)
        self.plan = plan
        self.truth = truth
        self.partial_pieces = int(partial_pieces)
        self.partial_delay_s = float(partial_delay_s)
        self._finish_now = threading.Event()
        self._threads: list[threading.Thread] = []
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    def path(self, stream: Stream, gps: int) -> Path:
        """Final path of the ``stream`` frame at ``gps``."""
        return frame_path(self.data_dir, KINDS[stream], self.ifo, gps)

    def channels(self, second: SimulatedSecond) -> dict[Stream, list[Channel]]:
        """The channels of the strain and witness frames of ``second``."""
        gps, fs = second.gps, SimulatedDetector.strain_rate
        strain = [
            Channel(strain_channel(self.ifo), second.strain, fs, gps),
            Channel(state_channel(self.ifo), self.plan.state_vector(gps), STATE_RATE_HZ, gps),
        ]
        if self.truth:
            strain.append(Channel(full_name(self.ifo, BACKGROUND), second.background, fs, gps))
            if second.injection is not None:
                strain.append(Channel(full_name(self.ifo, INJECTION), second.injection, fs, gps))
        witness = [
            Channel(name, data, second.rates[name], gps) for name, data in second.witnesses.items()
        ]
        return {Stream.STRAIN: strain, Stream.WITNESS: witness}

    def write(self, second: SimulatedSecond) -> FrameOutcome:
        """Write (or drop, or start writing in pieces) both frames of ``second``."""
        t0 = time.perf_counter()
        gps = second.gps
        written, dropped, partial = [], [], []
        streams = self.channels(second)
        for channel in (c for channels in streams.values() for c in channels):
            if not np.all(np.isfinite(channel.data)):
                raise DeepCleanError(
                    f"GPS {gps}: simulated channel {channel.name} holds NaN or infinite "
                    "samples (check the amplitude "
                    "settings); no frame of this second was written"
                )
        for stream, channels in streams.items():
            if self.plan.dropped(stream, gps):
                dropped.append(stream)
                continue
            path = self.path(stream, gps)
            if self.plan.partial(stream, gps):
                self._start_partial(path, channels)
                partial.append(stream)
            else:
                # not fsynced: a frame a crash leaves incomplete fails its checksum and is
                # written again on restart (simulate's preflight), and fsyncs cost ~20 ms each
                write_frame(path, channels, durable=False)
            written.append(stream)
        state = self.plan.state_vector(gps)
        return FrameOutcome(
            gps=gps,
            written=tuple(written),
            dropped=tuple(dropped),
            partial=tuple(partial),
            ready=bool(np.all((state & READY) == READY)),
            write_s=time.perf_counter() - t0,
        )

    def _start_partial(self, path: Path, channels: list[Channel]) -> None:
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="deepclean-simulate-")
        scratch = Path(self._scratch.name) / path.name
        write_frame(scratch, channels, durable=False)
        payload = scratch.read_bytes()
        scratch.unlink()
        bounds = np.linspace(0, len(payload), self.partial_pieces + 1).astype(int)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload[: bounds[1]])  # the truncated file appears
        pieces = [payload[a:b] for a, b in zip(bounds[1:-1], bounds[2:])]
        thread = threading.Thread(
            target=self._append_pieces,
            args=(path, pieces),
            name=f"partial-{path.name}",
            daemon=True,
        )
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def _append_pieces(self, path: Path, pieces: list[bytes]) -> None:
        pause = self.partial_delay_s / len(pieces)
        for piece in pieces:
            self._finish_now.wait(pause)
            with open(path, "ab") as handle:
                handle.write(piece)
        logger.debug("partial frame %s completed", path.name)

    def pending(self) -> int:
        """Partial files still being completed."""
        return sum(t.is_alive() for t in self._threads)

    def close(self) -> None:
        """Complete every pending partial file now and remove the scratch folder."""
        self._finish_now.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def __enter__(self) -> FrameSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
