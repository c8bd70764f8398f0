"""The injections of ``deepclean simulate``: the planned signals added to each simulated
second of strain (kept as truth), and the injection list written as they are first added."""

from __future__ import annotations

import dataclasses
import logging

from deepclean.services.simulate.settings import SimulateSettings
from deepclean.utils.injection_list import row, write_injections
from deepclean.utils.simulation.injections import InjectionConfig, InjectionPlan

logger = logging.getLogger(__name__)


def injection_config(settings: SimulateSettings) -> InjectionConfig:
    """What to inject, from the command's settings."""
    return InjectionConfig(
        ifo=settings.ifo,
        seed=settings.seed,
        every_s=settings.inject_every,
        gps_times=tuple(settings.inject_gps),
        kinds=tuple(settings.inject_kinds),
        snr=settings.inject_snr,
        distance_mpc=settings.inject_distance,
        hrss=settings.inject_hrss,
        f_lower_hz=settings.inject_f_lower,
        sine_gaussian_frequency_hz=settings.sine_gaussian_frequency,
        sine_gaussian_quality=settings.sine_gaussian_q,
    )


class Injector:
    """Adds the planned signals to each simulated second and keeps the injection list."""

    def __init__(self, settings: SimulateSettings) -> None:
        self.plan = InjectionPlan(injection_config(settings))
        self.path = settings.injection_path()
        self.ifo = settings.ifo
        self.listed: set[tuple[str, float]] = set()

    def __call__(self, second):
        """``second`` with the signals overlapping it added to strain (and kept as truth)."""
        signals = self.plan.signals(second.gps, second.gps + 1)
        injection = self.plan.strain(second.gps)
        new = [(i, s) for i, s in signals if (i.kind.value, i.gps) not in self.listed]
        if new:
            write_injections(self.path, self.ifo, [row(i, s) for i, s in new])
            for injection_, signal in new:
                self.listed.add((injection_.kind.value, injection_.gps))
                logger.info(
                    "injecting %s at GPS %.3f (at %s %.3f, signal %.1f-%.1f, optimal SNR %.1f); "
                    "listed in %s",
                    injection_.kind.value,
                    injection_.gps,
                    self.ifo,
                    signal.arrival_gps,
                    signal.start_gps,
                    signal.end_gps,
                    injection_.optimal_snr,
                    self.path,
                )
        return dataclasses.replace(second, strain=second.strain + injection, injection=injection)
