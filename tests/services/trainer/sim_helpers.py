"""Shared by the trainer and offline tests: tiny simulated frames and tiny training flags."""

import logging
from pathlib import Path

from deepclean.services.cli import main

GPS = 1_400_000_000
IFO = "H1"

#: settings that make a training run take seconds (2 witnesses, 2 s kernels, a few steps)
TINY_TRAIN = {
    "kernel_length": 2.0,
    "kernel_stride": 1.0,
    "batch_size": 8,
    "lr": 1e-2,
    "max_epochs": 1,
    "max_steps": 3,
    "inference_sampling_rate": 8.0,
    "inference_batch_size": 4,
    "max_latency": 0.5,
    "num_threads": 1,
    "max_valid_loss": 10.0,
    "max_valid_ratio": 10.0,
}


def flags(values: dict) -> list[str]:
    out = []
    for key, value in values.items():
        out += [f"--{key.replace('_', '-')}", str(value)]
    return out


def simulate(data_dir: Path, duration: int, start: int = GPS, *extra: str) -> Path:
    """Backfill ``duration`` s of H1 frames with 2 witnesses (mains + one coupled ASC) into
    ``data_dir``."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        code = main(
            [
                "simulate",
                "--data-dir",
                str(data_dir),
                "--ifo",
                IFO,
                "--start",
                str(start),
                "--duration",
                str(duration),
                "--backfill",
                "--num-witnesses",
                "2",
                "--coupled-witnesses",
                "ASC-DHARD_P_OUT_DQ",
                "--coupling-weights",
                "1.0",
                *extra,
            ]
        )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert code == 0
    return data_dir


def run_cli(argv: list[str]) -> int:
    """``deepclean ARGV`` without leaving the entry point's logging configuration behind."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return main(argv)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
