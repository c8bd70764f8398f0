"""Typed settings of ``deepclean simulate`` (table ``[tool.deepclean.simulate]``)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from deepclean.services.simulate.coupling_settings import CouplingChangeSettings
from deepclean.utils.config import (
    MAX_GPS,
    GPSDuration,
    GPSSecond,
    SharedSettings,
    check_paired,
)
from deepclean.utils.simulation import channels as ch
from deepclean.utils.simulation.waveforms import InjectionKind

Rate = Annotated[float, Field(ge=0.0, lt=1.0)]


class Stream(StrEnum):
    """The two frame streams the simulator writes."""

    STRAIN = "strain"
    WITNESS = "witness"


def parse_span(text: str) -> tuple[float, float]:
    """``"START-END"`` (GPS seconds, END > START) -> ``(start, end)``."""
    start, sep, end = str(text).partition("-")
    try:
        span = (float(start), float(end))
    except ValueError:
        span = None
    if not sep or span is None or not span[0] < span[1]:
        raise ValueError(
            f"span {text!r} is not START-END in GPS seconds with END > START (e.g. "
            "1400000010-1400000014.5)"
        )
    return span


def check_gps_span(start: int, duration: int) -> None:
    """``ValueError`` unless every frame of ``[start, start + duration)`` fits in a GWF file."""
    if start + duration > MAX_GPS:
        raise ValueError(
            f"span GPS {start} + {duration} s ends at {start + duration}, after the last "
            "GPS second a GWF frame "
            f"can hold ({MAX_GPS}); allowed: start + duration <= {MAX_GPS}"
        )


class SimulateSettings(SharedSettings, CouplingChangeSettings):
    """Options of the simulated detector. Faults are deterministic for ``seed``; harmonic
    coupling and the coupling's changes in time are in :class:`CouplingChangeSettings`."""

    service: ClassVar[str] = "simulate"

    start: GPSSecond | Literal["now"] = "now"
    """GPS second of the first frame, or 'now' for the current GPS second"""
    duration: GPSDuration | None = None
    """seconds of data to write; none = run until SIGINT/SIGTERM"""
    backfill: bool = False
    """write the span as fast as possible instead of following the clock"""
    speed: PositiveFloat = 1.0
    """real-time mode: simulated seconds per wall-clock second (10 = ten frames per second)"""
    follow_clock: bool = False
    """real time at speed 1 with a GPS start: each frame appears when the real GPS clock reaches its
    end, as with --start now (seconds already past are written at once); default: paced from
    launch"""
    seed: NonNegativeInt = 0
    """random seed of the data and of the injected faults"""
    truth: bool = True
    """also write the background-only strain <IFO>:SIM-BACKGROUND in strain frames"""
    channels_file: Path | None = None
    """file receiving the channel list, strain first; none = $DATA_DIR/channels.txt"""
    # ----------------------------------------------------------------- physics
    line_frequency: float = Field(60.0, ge=10.0, le=200.0)
    """mains line frequency, Hz (60 or 50)"""
    witnesses: list[str] | None = None
    """witness channels without the IFO prefix; none = the production list of the IFO"""
    num_witnesses: PositiveInt | None = None
    """number of witnesses: drop non-coupling ones or add synthetic non-coupling
    ASC-SIMnn_P_OUT_DQ"""
    coupled_witnesses: list[str] = list(ch.DEFAULT_COUPLINGS)
    """ASC witnesses whose product with the mains couples into strain"""
    coupling_weights: list[NonNegativeFloat] = list(ch.DEFAULT_COUPLINGS.values())
    """relative weight of each coupled witness (same order)"""
    bilinear_asd_ratio: NonNegativeFloat = 20.0
    """mean ASD of the bilinear sidebands / background ASD over line +/- 2 Hz"""
    linear_amplitude: NonNegativeFloat = 50.0
    """amplitude of the linearly coupled line / background ASD at the line, sqrt(Hz)"""
    # ----------------------------------------------------------------- injections
    inject_every: Annotated[int, Field(ge=8)] | None = None
    """inject one signal at a random time in every GPS interval of this many seconds (kinds cycled);
    none = no random injections"""
    inject_gps: list[Annotated[float, Field(ge=0, le=MAX_GPS)]] = []
    """geocentric GPS times (merger / peak) of signals to inject, s"""
    inject_kinds: list[InjectionKind] = Field(list(InjectionKind), min_length=1)
    """signal classes, cycled: bbh (IMRPhenomD), bns (TaylorT4), sine_gaussian"""
    inject_snr: PositiveFloat | None = 20.0
    """optimal SNR of every injection against the design background PSD (20-2048 Hz); none = sized
    by --inject-distance / --inject-hrss"""
    inject_distance: PositiveFloat = 400.0
    """compact binaries' distance when --inject-snr is none, Mpc"""
    inject_hrss: PositiveFloat = 1e-22
    """sine-Gaussians' hrss when --inject-snr is none, strain s^(1/2)"""
    inject_f_lower: float = Field(30.0, ge=10.0, le=500.0)
    """compact binaries' starting frequency, Hz"""
    sine_gaussian_frequency: float = Field(60.0, gt=0.0, le=2000.0)
    """sine-Gaussians' central frequency, Hz"""
    sine_gaussian_q: float = Field(9.0, gt=0.0, le=200.0)
    """sine-Gaussians' quality factor Q"""
    injection_file: Path | None = None
    """JSON list of the injections written (docs/signals.md); none =
    $DATA_DIR/injections-<IFO>.json"""
    # ----------------------------------------------------------------- faults
    drop_rate: Rate = 0.0
    """fraction of frames never written (independently per stream)"""
    drop_streams: list[Stream] = [Stream.STRAIN, Stream.WITNESS]
    """streams whose frames may be dropped: strain, witness"""
    drop_gps: list[NonNegativeInt] = []
    """GPS seconds whose frames are dropped (in drop_streams)"""
    not_ready_rate: Rate = 0.0
    """fraction of time the state vector is not analysis-ready"""
    not_ready_length: PositiveInt = 8
    """length of each random not-ready span, s"""
    not_ready_spans: list[str] = []
    """explicit not-ready spans START-END, GPS seconds"""
    partial_rate: Rate = 0.0
    """fraction of frame files written non-atomically, in pieces"""
    partial_pieces: int = Field(3, ge=2, le=100)
    """pieces of a partially written file"""
    partial_delay: NonNegativeFloat = 0.5
    """wall-clock seconds from a partial file's first piece to its completion"""

    @field_validator("not_ready_spans")
    @classmethod
    def _check_spans(cls, spans: list[str]) -> list[str]:
        for span in spans:
            parse_span(span)
        return spans

    @model_validator(mode="after")
    def _check_follow_clock(self) -> SimulateSettings:
        if self.follow_clock and (self.backfill or self.speed != 1.0):
            raise ValueError(
                f"follow_clock follows the real GPS clock, so it needs real time at speed 1; got "
                f"{'backfill' if self.backfill else f'speed {self.speed:g}'}"
            )
        return self

    @model_validator(mode="after")
    def _check_span(self) -> SimulateSettings:
        if isinstance(self.start, int) and self.duration is not None:
            check_gps_span(self.start, self.duration)
        return self

    @model_validator(mode="after")
    def _check_witnesses(self) -> SimulateSettings:
        check_paired(
            self,
            "coupled_witnesses",
            "coupling_weights",
            "name(s)",
            "one weight per coupled witness",
        )
        names = self.witness_names()
        missing = [n for n in [ch.MAINS, *self.coupled_witnesses] if n not in names]
        if missing:
            raise ValueError(
                f"witness(es) {', '.join(missing)} needed for the coupling are not in the "
                "witness list"
            )
        if ch.MAINS in self.coupled_witnesses:
            raise ValueError(
                f"coupled_witnesses lists {ch.MAINS}; it couples linearly by construction, "
                "list ASC witnesses"
            )
        asc = [n for n in names if n != ch.MAINS]
        problems = self.drift().check_witnesses(self.coupled_witnesses, asc)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def injecting(self) -> bool:
        """True when any signal is to be injected."""
        return self.inject_every is not None or bool(self.inject_gps)

    def injection_path(self) -> Path:
        """Where the injection list goes."""
        return self.injection_file or Path(self.data_dir) / f"injections-{self.ifo}.json"

    def witness_names(self) -> list[str]:
        """The witnesses to simulate (sorted, without IFO prefix)."""
        names = list(self.witnesses) if self.witnesses else ch.default_witnesses(self.ifo)
        if self.num_witnesses is not None:
            keep = [ch.MAINS, *[n for n in self.coupled_witnesses if n in names]]
            names = ch.resize_witnesses(names, self.num_witnesses, keep)
        return sorted(names)

    def spans(self) -> list[tuple[float, float]]:
        """The explicit not-ready spans as ``(start, end)`` GPS seconds."""
        return [parse_span(s) for s in self.not_ready_spans]
