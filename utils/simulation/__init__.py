"""The physics of the simulated detector (import name ``deepclean.utils.simulation``).

Contract: pure, deterministic numpy; no files, no clock, no logging configuration. Every
random number is drawn from a generator seeded by ``(seed, stream id, GPS second)``, so the
samples of GPS second N depend only on the seed, the model and N (not on where a run
started), and consecutive seconds join seamlessly (filters carry their history).

- ``spectra``: amplitude spectral densities: LIGO-like strain background, angular-control
  (ASC) witness shapes;
- ``noise``: seeded white noise and streaming FIR-coloured noise (overlap-save);
- ``interp``: polyphase cubic-convolution upsampling of slow channels;
- ``mains``: the mains line (60 Hz or 50 Hz) with slowly wandering amplitude and frequency;
- ``channels``: witness names, native sample rates and default couplings per IFO, and the
  channel list (strain first, then witnesses sorted);
- ``config``: ``DetectorConfig``, everything that defines the data besides the GPS time;
- ``drift``: coupling that changes with time (slow drift of the weights, a step at a GPS,
  the mains frequency shifting), a function of absolute GPS time; off by default;
- ``harmonics``: coupling at the line's harmonics (and the harmonics in the mains monitor);
- ``detector``: ``SimulatedDetector`` composing them: strain = background + linear mains
  coupling + bilinear (mains x ASC) coupling (+ the same at the harmonics), plus the witness
  channels at native rates;
- ``waveforms``: LALSimulation signals (IMRPhenomD, TaylorT4, sine-Gaussians) projected on a
  detector and placed on the sample grid;
- ``injections``: the deterministic injection plan (times, parameters, sizing by SNR).

Units: sample rates in Hz, times in GPS seconds, strain dimensionless, witnesses in
arbitrary counts.
"""
