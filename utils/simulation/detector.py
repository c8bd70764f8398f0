"""The simulated detector: strain = coloured background + linear and bilinear mains coupling.

Per GPS second ``SimulatedDetector.next()`` returns the strain at 16384 Hz, its ground
truth (the background alone) and every witness at its native rate:

* background ``b(t)``: white noise coloured to :func:`~.spectra.background_asd` by a 2 s FIR;
* mains ``m(t)``: :class:`~.mains.MainsLine` (line frequency with a few mHz of wander);
  its witness adds white sensor noise of ASD ``mains_noise_asd * amplitude`` /sqrt(Hz);
* ASC witnesses ``a_i(t)``: unit-variance noise shaped by an :class:`~.spectra.AngularSpectrum`
  (resonance 0.3-1.5 Hz, cut off above ~2.2 Hz) generated at 512 Hz by an 8 s FIR, scaled
  by a per-channel factor (0.1-10 counts RMS) and recorded with white sensor noise of ASD
  ``asc_noise_asd`` x RMS /sqrt(Hz), decimated to 256 Hz for the soft modes;
* coupled noise ``n(t) = g_lin m^(t) + g_bil m^(t) sum_i w_i a_i(t)``, with
  ``m^ = m(t + delay) / amplitude`` (the coupling path adds ``coupling_phase_rad``) and
  ``a_i`` upsampled to 16384 Hz by cubic convolution. ``g_bil`` is set so that the mean
  over ``line +/- 2 Hz`` of ASD(bilinear) / ASD(background) is ``bilinear_asd_ratio``; the
  linear line has amplitude ``g_lin = linear_amplitude * ASD_background(line)`` (x 1 sqrt(Hz)).

The bilinear products put sidebands at line +/- (0.05..2.2) Hz; the ASC cut-off makes them
negligible beyond ~5 Hz from the line. Only the mains couples linearly; a linear filter of
the witnesses cannot remove the sidebands.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from deepclean.utils.frames.naming import STRAIN_RATE_HZ
from deepclean.utils.simulation import channels as ch
from deepclean.utils.simulation import interp
from deepclean.utils.simulation.config import DetectorConfig
from deepclean.utils.simulation.mains import MainsLine
from deepclean.utils.simulation.noise import ColouredNoise, fir_asd, fir_from_asd, white_noise
from deepclean.utils.simulation.spectra import AngularSpectrum, background_asd

BACKGROUND_STREAM = 1  #: white-noise stream id of the strain background
BACKGROUND_FILTER_S = 2  #: length of the background colouring filter, s (0.2% accuracy above 20 Hz)
ASC_BASE_RATE_HZ = 512  #: rate at which ASC signals are generated (Hz)
SIDEBAND_HALF_WIDTH_HZ = 2.0  #: the bilinear ratio is calibrated over line +/- this


def _unit(name: str, salt: str) -> float:
    """A stable number in [0, 1) from a channel name (independent of the seed)."""
    return zlib.crc32(f"{salt}:{name}".encode()) / 2**32


def stream_id(name: str, purpose: str) -> int:
    """White-noise stream id of ``purpose`` ("signal", "sensor") for witness ``name``."""
    return 16 + (zlib.crc32(f"{purpose}:{name}".encode()) & 0x3FFFFFFF)


def asc_spectrum(name: str) -> AngularSpectrum:
    """The ASD shape of ASC-like witness ``name`` (fixed per name)."""
    return AngularSpectrum(
        resonance_hz=0.3 + 1.2 * _unit(name, "resonance"), quality=1.5 + 2.0 * _unit(name, "q")
    )


def witness_scale(name: str) -> float:
    """RMS (counts) of ASC-like witness ``name``: 0.1 to 10, fixed per name."""
    return 10.0 ** (2.0 * _unit(name, "scale") - 1.0)


@dataclass(frozen=True)
class SimulatedSecond:
    """One GPS second of simulated data. Arrays are float64."""

    gps: int
    strain: np.ndarray  #: (16384,) strain with coupled noise
    background: np.ndarray  #: (16384,) strain without coupled noise (ground truth)
    witnesses: dict[str, np.ndarray] = field(
        default_factory=dict
    )  #: full name -> samples at native rate
    rates: dict[str, int] = field(default_factory=dict)  #: full name -> Hz
    injection: np.ndarray | None = None  #: (16384,) injected signals in strain; None: no injections


class SimulatedDetector:
    """Generates consecutive seconds from ``start_gps``; see the module docstring."""

    strain_rate = int(STRAIN_RATE_HZ)

    def __init__(self, config: DetectorConfig, start_gps: int) -> None:
        if start_gps < config.asc_filter_s + 2:
            raise ValueError(f"start GPS {start_gps} must be at least {config.asc_filter_s + 2} s")
        self.config = config
        self.gps = int(start_gps)
        seed = config.seed
        self.mains = MainsLine.from_seed(
            seed,
            frequency_hz=config.line_frequency_hz,
            amplitude=config.mains_amplitude,
            amplitude_depth=config.amplitude_wander,
            frequency_depth_hz=config.frequency_wander_hz,
        )
        self.mains = config.drift.shifted_mains(self.mains, seed)
        bg_taps = fir_from_asd(
            background_asd, self.strain_rate, BACKGROUND_FILTER_S * self.strain_rate
        )
        self._background = ColouredNoise(
            bg_taps,
            [BACKGROUND_STREAM],
            seed=seed,
            samples_per_second=self.strain_rate,
            start_gps=self.gps,
        )
        self.asc_names = [w for w in config.witnesses if w != ch.MAINS]
        n_taps = ASC_BASE_RATE_HZ * config.asc_filter_s
        taps = np.stack(
            [fir_from_asd(asc_spectrum(n).asd, ASC_BASE_RATE_HZ, n_taps) for n in self.asc_names]
        )
        self.asc_taps = taps / np.sqrt(
            np.sum(taps**2, axis=1, keepdims=True)
        )  # unit-variance outputs
        self._asc = ColouredNoise(
            self.asc_taps,
            [stream_id(n, "signal") for n in self.asc_names],
            seed=seed,
            samples_per_second=ASC_BASE_RATE_HZ,
            start_gps=self.gps - 1,
        )
        self._asc_window = [
            self._asc.next(),
            self._asc.next(),
            self._asc.next(),
        ]  # seconds gps-1, gps, gps+1
        couplings = config.coupling_map
        names = config.drift.names([n for n in self.asc_names if couplings.get(n, 0.0) > 0])
        self._coupled = [self.asc_names.index(n) for n in names]
        self._weights = np.array([couplings.get(n, 0.0) for n in names])
        f0 = config.line_frequency_hz
        self.bilinear_gain = self._calibrate_bilinear(f0, config.bilinear_asd_ratio)
        self.linear_gain = config.linear_amplitude * float(background_asd(f0))
        #: per harmonic: (linear gain, bilinear gain), strain per unit of h_k
        self.harmonic_gains = [
            (
                h.linear_amplitude * float(background_asd(h.order * f0)),
                self._calibrate_bilinear(h.order * f0, h.bilinear_asd_ratio),
            )
            for h in config.harmonics
        ]

    # ------------------------------------------------------------------ expected spectra
    def _modulation_asd(self, offsets_hz: np.ndarray) -> np.ndarray:
        """One-sided ASD of ``sum_i w_i a_i`` at ``|offsets_hz|`` (1/sqrt(Hz))."""
        offsets = np.abs(np.asarray(offsets_hz, dtype=np.float64))
        if not self._coupled:
            return np.zeros_like(offsets)
        asds = fir_asd(self.asc_taps[self._coupled], ASC_BASE_RATE_HZ, offsets)  # (coupled, freq)
        return np.sqrt(self._weights**2 @ asds**2)

    def _calibrate_bilinear(self, center_hz: float, ratio: float) -> float:
        """Gain making the mean ASD(bilinear) / ASD(background) over ``center_hz`` +/- 2 Hz
        equal ``ratio`` (with the constant weights, before any drift)."""
        if not self._coupled or ratio == 0 or not np.any(self._weights > 0):
            return 0.0
        offsets = np.linspace(-SIDEBAND_HALF_WIDTH_HZ, SIDEBAND_HALF_WIDTH_HZ, 81)
        relative = 0.5 * self._modulation_asd(offsets) / background_asd(center_hz + offsets)
        return ratio / float(np.mean(relative))

    def bilinear_asd(self, freqs_hz: np.ndarray) -> np.ndarray:
        """Designed one-sided strain ASD (1/sqrt(Hz)) of the bilinear noise at ``freqs_hz``
        (the mains amplitude wander of a few per cent neglected)."""
        f = np.asarray(freqs_hz, dtype=np.float64)
        return 0.5 * self.bilinear_gain * self._modulation_asd(f - self.config.line_frequency_hz)

    # ------------------------------------------------------------------ generation
    def next(self) -> SimulatedSecond:
        """The next GPS second (:attr:`gps` before the call)."""
        cfg, gps, fs = self.config, self.gps, self.strain_rate
        background = self._background.next()[0]
        mains_hat = self.mains.sample(gps, fs, cfg.coupling_phase_rad) / cfg.mains_amplitude
        coupled = self.linear_gain * mains_hat
        prev, cur, nxt = self._asc_window
        if self._coupled:
            ext = np.concatenate(
                [
                    prev[self._coupled, ASC_BASE_RATE_HZ - interp.BEFORE :],
                    cur[self._coupled],
                    nxt[self._coupled, : interp.AFTER],
                ],
                axis=1,
            )
            slow = interp.upsample(ext, fs // ASC_BASE_RATE_HZ)
            if cfg.drift.changes_coupling:
                names = [self.asc_names[i] for i in self._coupled]
                w = cfg.drift.weights(cfg.seed, names, self._weights, gps, np.arange(fs) / fs)
                modulation = np.sum(w * slow, axis=0)
            else:
                modulation = self._weights @ slow
            coupled = coupled + self.bilinear_gain * mains_hat * modulation
        else:
            modulation = 0.0
        rate = ch.native_rate(ch.MAINS)
        mains_witness = self.mains.sample(gps, rate)
        for h, (g_lin, g_bil) in zip(cfg.harmonics, self.harmonic_gains):
            shift = h.phase_rad + cfg.coupling_phase_rad
            h_hat = self.mains.sample(gps, fs, shift, harmonic=h.order) / cfg.mains_amplitude
            coupled = coupled + h_hat * (g_lin + g_bil * modulation)
            mains_witness += h.witness_fraction * self.mains.sample(
                gps, rate, h.phase_rad, harmonic=h.order
            )
        witnesses, rates = {}, {}
        noise = white_noise(cfg.seed, stream_id(ch.MAINS, "sensor"), gps, rate)
        witnesses[ch.full_name(cfg.ifo, ch.MAINS)] = mains_witness + (
            cfg.mains_noise_asd * cfg.mains_amplitude * math.sqrt(rate / 2) * noise
        )
        rates[ch.full_name(cfg.ifo, ch.MAINS)] = rate
        for i, name in enumerate(self.asc_names):
            rate = ch.native_rate(name)
            scale = witness_scale(name)
            noise = white_noise(cfg.seed, stream_id(name, "sensor"), gps, rate)
            witnesses[ch.full_name(cfg.ifo, name)] = scale * (
                cur[i, :: ASC_BASE_RATE_HZ // rate]
                + cfg.asc_noise_asd * math.sqrt(rate / 2) * noise
            )
            rates[ch.full_name(cfg.ifo, name)] = rate
        self._asc_window = [cur, nxt, self._asc.next()]
        self.gps += 1
        return SimulatedSecond(
            gps=gps,
            strain=background + coupled,
            background=background,
            witnesses=witnesses,
            rates=rates,
        )


@dataclass(frozen=True)
class SimulatedStretch:
    """Consecutive seconds concatenated: ``strain``/``background`` at 16384 Hz, witnesses at native
    rates."""

    start: int
    duration: int
    strain: np.ndarray
    background: np.ndarray
    witnesses: Mapping[str, np.ndarray]
    rates: Mapping[str, int]


def simulate(config: DetectorConfig, start_gps: int, duration_s: int) -> SimulatedStretch:
    """Generate ``duration_s`` seconds from ``start_gps`` in memory (for tests and studies)."""
    if duration_s < 1:
        raise ValueError(f"duration {duration_s} s must be at least 1 s")
    det = SimulatedDetector(config, start_gps)
    seconds = [det.next() for _ in range(int(duration_s))]
    names = list(seconds[0].witnesses)
    return SimulatedStretch(
        start=int(start_gps),
        duration=int(duration_s),
        strain=np.concatenate([s.strain for s in seconds]),
        background=np.concatenate([s.background for s in seconds]),
        witnesses={n: np.concatenate([s.witnesses[n] for s in seconds]) for n in names},
        rates=dict(seconds[0].rates),
    )


__all__ = [
    "DetectorConfig",
    "SimulatedDetector",
    "SimulatedSecond",
    "SimulatedStretch",
    "simulate",
]
