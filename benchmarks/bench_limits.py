"""What limits cleaning quality, without training a network (not a test: prints figures).

On a simulated case (in memory; harmonic coupling as the demo detector has it) this measures
the in-band cleaned/background ASD ratio per band that the parts other than the network
allow, against the simulator's truth:

1. **post-processing with a perfect noise estimate**: the true coupled noise
   (strain - background) through the cleaner's band-pass (``filter_bands`` = bands widened by
   ``--band-margin``) and subtracted; what remains is what the band-pass alone costs;
2. **the witnesses' information**: a least-squares fit, on the training span, of the strain
   in each band on the mains witness, its Hilbert quadrature and their products with *every*
   ASC witness (the network does not know which couple), applied to the held-out span;
   what remains is what a model of the right form learns from the data;
3. the BNS range (gwpy ``inspiral_range``) of raw strain, of (1) and of the background (all
   coupled noise removed).

The network's capacity and training length need training runs: ``bench_cleaning.py``.

    .venv/bin/python benchmarks/bench_limits.py [--ifo H1] [--line-frequency 60] [--seed 0] \\
        [--train-seconds 512] [--test-seconds 256] [--band-margin 1] [--no-harmonics]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import signal

from deepclean.utils.signal.filters import BandpassFilter
from deepclean.utils.simulation import channels as ch
from deepclean.utils.simulation.detector import DetectorConfig, simulate
from deepclean.utils.simulation.harmonics import DEMO_HARMONICS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cleaning_figures import band_ratios, harmonic_bands, range_gains  # noqa: E402

GPS = 1_400_000_000
FS = 4096
LS_FS = 1024  #: rate of the least-squares oracle (bands up to ~185 Hz)
TRIM_S = 8  #: seconds dropped at each end after zero-phase filtering


def least_squares_residual(stretch, n_train_s: int, bands, ifo: str) -> np.ndarray:
    """Held-out strain at LS_FS minus the per-band least-squares fit on witness products."""
    strain = signal.resample_poly(stretch.strain, 1, 16384 // LS_FS)
    mains = stretch.witnesses[f"{ifo}:{ch.MAINS}"]
    quad = np.imag(signal.hilbert(mains))
    ascs = [
        signal.resample_poly(x, LS_FS // stretch.rates[name], 1)
        for name, x in stretch.witnesses.items()
        if not name.endswith(ch.MAINS)
    ]
    regressors = [mains, quad, *[m * a for a in ascs for m in (mains, quad)]]
    split, trim = n_train_s * LS_FS, TRIM_S * LS_FS
    residual = strain.copy()
    for lo, hi in bands:
        sos = signal.butter(8, [lo - 1, hi + 1], "bandpass", fs=LS_FS, output="sos")
        y = signal.sosfiltfilt(sos, strain)
        x = np.stack([signal.sosfiltfilt(sos, r) for r in regressors], axis=1)
        scale = x[trim:split].std(axis=0)
        x = x / scale
        coef, *_ = np.linalg.lstsq(x[trim:split], y[trim:split], rcond=None)
        residual -= x @ coef
    return residual[split + trim : -trim]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ifo", default="H1")
    parser.add_argument("--line-frequency", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-seconds", type=int, default=512)
    parser.add_argument("--test-seconds", type=int, default=256)
    parser.add_argument("--band-margin", type=float, default=1.0, help="Hz (the cpu profile's)")
    parser.add_argument("--no-harmonics", action="store_true")
    args = parser.parse_args()

    harmonics = () if args.no_harmonics else DEMO_HARMONICS
    config = DetectorConfig(
        ifo=args.ifo, seed=args.seed, line_frequency_hz=args.line_frequency, harmonics=harmonics
    )
    orders = (1,) + tuple(h.order for h in harmonics)
    bands = harmonic_bands(args.line_frequency, orders)
    t0 = time.monotonic()
    n = args.train_seconds + args.test_seconds
    stretch = simulate(config, GPS, n)
    print(f"simulated {n} s in {time.monotonic() - t0:.0f} s", flush=True)

    held = slice((args.train_seconds + TRIM_S) * FS, (n - TRIM_S) * FS)
    raw = signal.resample_poly(stretch.strain, 1, 4)
    bg = signal.resample_poly(stretch.background, 1, 4)
    filter_bands = tuple((lo - args.band_margin, hi + args.band_margin) for lo, hi in bands)
    perfect = raw - BandpassFilter(filter_bands, FS)(raw - bg)
    raw, bg, perfect = raw[held], bg[held], perfect[held]

    residual = least_squares_residual(stretch, args.train_seconds, bands, args.ifo)
    bg_ls = signal.resample_poly(stretch.background, 1, 16384 // LS_FS)
    bg_ls = bg_ls[(args.train_seconds + TRIM_S) * LS_FS : (n - TRIM_S) * LS_FS]
    raw_ls = signal.resample_poly(stretch.strain, 1, 16384 // LS_FS)
    raw_ls = raw_ls[(args.train_seconds + TRIM_S) * LS_FS : (n - TRIM_S) * LS_FS]

    print(
        f"\n{args.ifo}, {args.line_frequency:g} Hz, seed {args.seed}, harmonics "
        f"{'on' if harmonics else 'off'}; held-out {n - args.train_seconds - 2 * TRIM_S} s; "
        f"filter margin {args.band_margin:g} Hz"
    )
    rows = [
        ("raw", band_ratios(raw, bg, FS, bands)),
        ("perfect estimate + band-pass", band_ratios(perfect, bg, FS, bands)),
        ("least squares on witness products", band_ratios(residual, bg_ls, LS_FS, bands)),
        ("(raw at the LS rate)", band_ratios(raw_ls, bg_ls, LS_FS, bands)),
    ]
    print(f"{'cleaned/background per band':36s}" + "".join(f"{k:>14s}" for k in rows[0][1]))
    for name, ratios in rows:
        print(f"{name:36s}" + "".join(f"{v:14.3f}" for v in ratios.values()))
    gains = range_gains(raw, bg, FS, perfect=perfect)
    print(
        f"BNS range: raw {gains['raw_mpc']:.2f} Mpc, background {gains['background_mpc']:.2f} Mpc "
        f"(possible +{gains['possible_gain_pct']:.2f}%), perfect estimate + band-pass "
        f"{gains['perfect_mpc']:.2f} Mpc (+{gains['perfect_gain_pct']:.2f}%, "
        f"{100 * gains['perfect_fraction_of_possible']:.1f}% of possible)"
    )


if __name__ == "__main__":
    main()
