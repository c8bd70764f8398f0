"""End-to-end cleaning benchmark: simulate, train with a profile, clean a later held-out span,
and compare with the linear MISO Wiener baseline (not a test: prints figures).

1. ``deepclean simulate`` writes ``train + gap + test`` seconds (default settings, ``--seed``);
2. ``deepclean train --profile PROFILE`` on the first ``--train-seconds`` (timed: wall clock,
   and the CPU time the process got, user + sys, which compares runs on a loaded machine);
   every option the benchmark does not know goes to ``deepclean train`` (``--max-epochs 12``,
   ``--max-train-seconds 900``, ``--lr 1e-3``);
3. ``deepclean clean-offline`` on the held-out ``--test-seconds`` starting ``--gap`` seconds
   after the training span (report.json: ASD ratios, throughput);
4. the Wiener filter (``wiener_baseline.py``) fitted on the same training span, applied to the
   same held-out span with the same band-pass and subtraction.

Prints: the 1-minute load average (highest seen), training wall and CPU time, in-band
cleaned/raw (DeepClean, Wiener), out-of-band ratios (20-50 Hz, 70-200 Hz, the cleaning bands
left out), in-band cleaned/background, cleaning throughput (s of data per s); per band,
cleaned/background of DeepClean and of its OUT_DQ (the cleaner's gate run offline,
``cleaning_figures.offline_out_dq``); the BNS range of raw, cleaned, OUT_DQ and background
strain (gwpy ``inspiral_range``) and each gain as a fraction
of the possible one (background).

``--bands harmonics`` (the default) cleans the line and its 2nd and 3rd harmonics +/- 2 Hz,
the bands the demo detector's witnesses explain; ``--bands line`` only the line +/- 2 Hz.
Every step runs the real commands as subprocesses, so the timings include their start-up.

    .venv/bin/python benchmarks/bench_cleaning.py [--profile cpu] [--train-seconds 1024] \\
        [--test-seconds 256] [--seed 0] [--work-dir DIR] [--keep] [--reuse-data] [--reuse-model] \\
        [--stream-mode windowed|contiguous] [--inference-geometry profile|production] \\
        [--ifo H1] [--line-frequency 60] [--bands harmonics|line] [TRAIN OPTIONS, e.g. \\
        --max-train-seconds S]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from deepclean.services.offline.clean import cleaned_channel, cleaned_frame_name
from deepclean.utils.channels import parse_channels
from deepclean.utils.frames.span import read_span
from deepclean.utils.signal.asd_ratios import cleaning_report
from deepclean.utils.signal.filters import BandpassFilter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cleaning_figures import band_ratios, harmonic_bands, offline_out_dq, range_gains  # noqa: E402
from wiener_baseline import WienerFilter  # noqa: E402

GPS = 1_400_000_000
FS = 4096.0
WIENER_PAD_S = 8  #: seconds read around the held-out span for the Wiener FIR edges


def deepclean(*args: str) -> tuple[float, float]:
    """Run ``deepclean ARGS``; return its wall time and its CPU time (user + sys), seconds."""
    exe = Path(sys.executable).with_name("deepclean")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    subprocess.run([str(exe), *args], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return time.monotonic() - started, cpu


def wiener(data: Path, train: tuple[int, int], test: tuple[int, int], ifo: str, bands) -> dict:
    channels = parse_channels(data / "channels.txt", ifo)
    bg = f"{ifo}:SIM-BACKGROUND"
    span = read_span(data, ifo, channels, train[0], train[1] - train[0], FS)
    t0 = time.monotonic()
    wf = WienerFilter.fit(span.data[1:], span.data[0], FS, bands)
    fit_seconds = time.monotonic() - t0
    held = read_span(
        data,
        ifo,
        channels,
        test[0] - WIENER_PAD_S,
        test[1] - test[0] + 2 * WIENER_PAD_S,
        FS,
        extra_strain_channels=[bg],
    )
    t0 = time.monotonic()
    noise = BandpassFilter(tuple(bands), FS)(wf.predict(held.data[1:]))
    apply_seconds = time.monotonic() - t0
    cut = slice(int(WIENER_PAD_S * FS), int((WIENER_PAD_S + test[1] - test[0]) * FS))
    raw = held.data[0, cut]
    report = cleaning_report(raw, raw - noise[cut], FS, bands, background=held.extras[bg][cut])
    report.update(fit_seconds=fit_seconds, throughput=(test[1] - test[0]) / apply_seconds)
    return report


def quality_figures(data: Path, clean: Path, dc: dict, ifo: str, bands) -> str:
    """Per-band cleaned/background of the cleaned and OUT_DQ streams and BNS range gains,
    over the report's analysis-ready span of the cleaned frames."""
    from deepclean.utils.frames.gwf import read_frame

    start, end = (int(round(t)) for t in dc["report_span"])
    bg_name = f"{ifo}:SIM-BACKGROUND"
    channels = parse_channels(data / "channels.txt", ifo)
    held = read_span(data, ifo, channels, start, end - start, FS, extra_strain_channels=[bg_name])
    raw, background = held.data[0], held.extras[bg_name]
    cleaned = np.concatenate(
        [
            read_frame(path, [cleaned_channel(ifo)])[cleaned_channel(ifo)].data
            for path in (clean / cleaned_frame_name(ifo, gps) for gps in range(start, end))
        ]
    )
    out_dq = offline_out_dq(raw, cleaned, FS, bands)
    n = len(out_dq)
    raw, background, cleaned = raw[:n], background[:n], cleaned[:n]
    header = "".join(f"{b:>12s}" for b in band_ratios(raw, background, FS, bands))
    lines = [f"{'cleaned/background per band':30s}{header}"]
    for name, x in (("raw", raw), ("cleaned", cleaned), ("OUT_DQ", out_dq)):
        ratios = band_ratios(x, background, FS, bands)
        lines.append(f"{name:30s}" + "".join(f"{v:12.3f}" for v in ratios.values()))
    g = range_gains(raw, background, FS, cleaned=cleaned, out_dq=out_dq)
    lines.append(
        f"BNS range (Mpc): raw {g['raw_mpc']:.2f}, cleaned {g['cleaned_mpc']:.2f} "
        f"({g['cleaned_gain_pct']:+.2f}%), OUT_DQ {g['out_dq_mpc']:.2f} "
        f"({g['out_dq_gain_pct']:+.2f}%), background {g['background_mpc']:.2f} "
        f"(possible {g['possible_gain_pct']:+.2f}%); OUT_DQ gain = "
        f"{100 * g['out_dq_fraction_of_possible']:.1f}% of possible"
    )
    return "\n".join(lines)


def parse_args() -> tuple[argparse.Namespace, list[str]]:
    """The benchmark's options, and the others (given to ``deepclean train``)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--train-seconds", type=int, default=1024)
    parser.add_argument("--test-seconds", type=int, default=256)
    parser.add_argument(
        "--gap", type=int, default=16, help="seconds between the training and held-out spans"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="keep data and models here (default: a temp dir)",
    )
    parser.add_argument("--keep", action="store_true", help="do not delete the temporary work dir")
    parser.add_argument(
        "--reuse-data", action="store_true", help="skip simulation if WORK_DIR/data exists"
    )
    parser.add_argument(
        "--reuse-model",
        action="store_true",
        help="skip training if WORK_DIR/model holds a trained model (compare modes on one model)",
    )
    parser.add_argument(
        "--stream-mode",
        choices=["windowed", "contiguous"],
        default=None,
        help="clean-offline's stream mode (default: its own default)",
    )
    parser.add_argument(
        "--inference-geometry",
        choices=["profile", "production"],
        default="profile",
        help="clean with the profile's inference geometry, or the production one (1 s windows, "
        "512/s, 128 per update, 0.5 s averaged)",
    )
    parser.add_argument("--ifo", default="H1", choices=["H1", "L1"])
    parser.add_argument("--line-frequency", type=float, default=60.0, help="Hz (60 or 50)")
    parser.add_argument(
        "--bands",
        choices=["harmonics", "line"],
        default="harmonics",
        help="clean the line and its 2nd and 3rd harmonics (+/- 2 Hz), or the line only",
    )
    return parser.parse_known_args()


def simulate(args: argparse.Namespace, data: Path, total: int) -> None:
    """``deepclean simulate`` of ``total`` s from GPS; skipped with ``--reuse-data``."""
    if args.reuse_data and data.is_dir():
        return
    sim, _ = deepclean(
        *("simulate", "--data-dir", str(data), "--ifo", args.ifo, "--start", str(GPS)),
        *("--duration", str(total), "--backfill", "--seed", str(args.seed)),
        *("--line-frequency", str(args.line_frequency)),
    )
    print(f"simulated {total} s in {sim:.0f} s", flush=True)


def train(args, train_args: list[str], data: Path, model: Path, span, bands) -> tuple[float, float]:
    """``deepclean train`` on ``span`` (GPS start, end): wall time and CPU time (user + sys of
    the process), s; zeros with ``--reuse-model`` and a model in place."""
    if args.reuse_model and (model / "weights.pt").is_file():
        return 0.0, 0.0
    shutil.rmtree(model, ignore_errors=True)
    return deepclean(
        *("train", "--profile", args.profile, "--data-dir", str(data), "--ifo", args.ifo),
        *("--channels", str(data / "channels.txt"), "--start", str(span[0])),
        *("--duration", str(args.train_seconds), "--output-dir", str(model)),
        *("--seed", str(args.seed), "--freq-low", *[f"{lo:g}" for lo, _ in bands]),
        *("--freq-high", *[f"{hi:g}" for _, hi in bands], *train_args),
    )


def clean(args, data: Path, model: Path, out: Path, span) -> float:
    """``deepclean clean-offline`` of the held-out ``span``; its wall time, s."""
    extra = [] if args.stream_mode is None else ["--stream-mode", args.stream_mode]
    if args.inference_geometry == "production":
        extra += ["--inference-kernel-length", "1", "--inference-sampling-rate", "512"]
        extra += ["--inference-batch-size", "128", "--max-latency", "0.5"]
    wall, _ = deepclean(
        *("clean-offline", "--profile", args.profile, "--data-dir", str(data), "--ifo", args.ifo),
        *("--weights", str(model), "--start", str(span[0]), "--duration", str(args.test_seconds)),
        *("--output-dir", str(out), "--overwrite", "--allow-worse", *extra),
    )
    return wall


def main() -> None:
    args, train_args = parse_args()
    bands = harmonic_bands(args.line_frequency, (1, 2, 3) if args.bands == "harmonics" else (1,))
    logging.basicConfig(level=logging.ERROR)  # the Wiener part's frame reads: errors only
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-cleaning-"))
    data, model, out = work / "data", work / "model", work / "clean"
    span = (GPS, GPS + args.train_seconds)
    test = (span[1] + args.gap, span[1] + args.gap + args.test_seconds)
    load = os.getloadavg()[0]
    try:
        simulate(args, data, test[1] + WIENER_PAD_S + 8 - GPS)
        train_wall, train_cpu = train(args, train_args, data, model, span, bands)
        load = max(load, os.getloadavg()[0])
        clean_wall = clean(args, data, model, out, test)
        dc = json.loads((out / "report.json").read_text())
        meta = json.loads((model / "metadata.json").read_text())
        wf = wiener(data, span, test, args.ifo, bands)
        figures = quality_figures(data, out, dc, args.ifo, bands)
    finally:
        if args.work_dir is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(
        f"\nprofile {args.profile}, seed {args.seed}: train GPS {span[0]}+{args.train_seconds} s "
        f"(train options {' '.join(train_args) or 'none'}), held-out GPS "
        f"{test[0]}+{args.test_seconds} s, {args.ifo} {args.line_frequency:g} Hz, bands {bands}; "
        f"inference geometry {args.inference_geometry}, stream mode "
        f"{args.stream_mode or 'default'}{' (model reused)' if not train_wall else ''}; "
        f"load average (1 min) up to {load:.1f}"
    )
    print(
        f"training wall time            {train_wall:8.1f} s, CPU {train_cpu:.0f} s "
        f"({meta['losses']['epochs']} epochs, stop: {meta['losses']['stop_reason']}; "
        f"optimisation {meta['training']['wall_seconds']:.0f} s wall)"
    )
    print_comparison(dc, wf, args.test_seconds / clean_wall)
    print(figures)
    if args.work_dir is None and args.keep:
        print(f"work dir kept: {work}")


def print_comparison(dc: dict, wf: dict, clean_rate: float) -> None:
    """DeepClean's and the Wiener filter's in-band and out-of-band figures side by side."""
    oob = lambda r: ", ".join(f"{k} {v:.4f}" for k, v in r["out_of_band_ratio"].items())  # noqa: E731
    print(f"raw/background in band        {dc['raw_background_ratio']:8.3f}")
    print(f"{'':30s} {'DeepClean':>10s} {'Wiener':>10s}")
    print(f"in-band cleaned/raw           {dc['in_band_ratio']:10.4f} {wf['in_band_ratio']:10.4f}")
    print(
        f"in-band cleaned/background    {dc['background_ratio']:10.4f} "
        f"{wf['background_ratio']:10.4f}"
    )
    print(f"out of band cleaned/raw       DeepClean: {oob(dc)} | Wiener: {oob(wf)}")
    print(
        f"cleaning throughput           {dc['throughput']:10.1f} {wf['throughput']:10.1f} "
        "s of data per s (DeepClean inference only; clean-offline command "
        f"{clean_rate:.1f} s/s overall)"
    )


if __name__ == "__main__":
    main()
