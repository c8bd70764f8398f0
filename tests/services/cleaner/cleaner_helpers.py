"""Shared by the cleaner's integration tests and benchmark: a trained model, repositories, Triton,
processes.

Data: the simulator with two witnesses (the mains monitor and one coupled ASC channel), so the
network is small and Triton keeps up with a sped-up stream on two shared cores.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from deepclean.services.cli import main
from deepclean.services.exporter.export import (
    ExportTarget,
    add_version,
    load_trained,
    stream_spec,
    untrained_model,
)
from deepclean.services.exporter.settings import Architecture, ExportPlatform
from deepclean.utils.channels import parse_channels
from deepclean.utils.export import ModelRepository
from deepclean.utils.frames.gwf import read_frame
from deepclean.utils.products import Flag, Product, VersionInfo
from deepclean.utils.triton.ensemble import build_stream

IFO = "H1"
TRAIN_GPS = 1_400_000_000
LIVE_GPS = 1_400_000_400  #: where live streams start (after the training data)
SIM_FLAGS = [
    "--num-witnesses",
    "2",
    "--coupled-witnesses",
    "ASC-DHARD_P_OUT_DQ",
    "--coupling-weights",
    "1.0",
    "--seed",
    "3",
]
#: the geometry of the cpu profile (32 windows/s, batch 8, max latency 0.5 s, kernel 1 s)
GEOMETRY = {"kernel_length": 1.0, "stride_length": 1 / 32, "batch_size": 8, "max_latency": 0.5}


def run_cli(argv: list[str]) -> int:
    """``deepclean ARGV`` in-process, leaving the logging configuration as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return main(argv)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def simulate_backfill(data_dir: Path, start: int, duration: int, *extra: str) -> None:
    assert (
        run_cli(
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
                *SIM_FLAGS,
                *extra,
            ]
        )
        == 0
    )


def train(data_dir: Path, model_dir: Path) -> Path:
    """A ~1 min cpu-profile training run on 128 s of two-witness data (cleans in band by > 2x)."""
    simulate_backfill(data_dir, TRAIN_GPS, 136)
    assert (
        run_cli(
            [
                "train",
                "--profile",
                "cpu",
                "--data-dir",
                str(data_dir),
                "--ifo",
                IFO,
                "--channels",
                str(data_dir / "channels.txt"),
                "--start",
                str(TRAIN_GPS),
                "--duration",
                "128",
                "--output-dir",
                str(model_dir),
                "--kernel-length",
                "4",
                "--batch-size",
                "8",
                "--max-epochs",
                "8",
                "--max-steps",
                "16",
                "--early-stop",
                "8",
            ]
        )
        == 0
    )
    return model_dir


def make_repository(
    root: Path,
    channels_file: Path,
    model_dir: Path,
    *,
    untrained_first: bool = False,
    streams: int = 1,
) -> Path:
    """A python-platform repository: the trained model as version 1 (production = canary), or, with
    ``untrained_first``, the untrained placeholder as version 1 (production) and the trained one as
    2 (canary)."""
    channels = parse_channels(Path(channels_file), IFO)
    target = ExportTarget(
        root,
        ExportPlatform.PYTHON,
        4096.0,
        GEOMETRY["kernel_length"],
        GEOMETRY["stride_length"],
        GEOMETRY["batch_size"],
        (GEOMETRY["max_latency"],),
        streams,
        1,
    )
    spec = stream_spec(target, channels, {})
    trained = load_trained(model_dir, channels, 4096.0, Architecture.AUTOENCODER)
    repo = ModelRepository(root)
    with repo.transaction():
        if untrained_first:
            info = VersionInfo(
                trained=False, bands=trained.info.bands, filter_bands=trained.info.filter_bands
            )
            add_version(
                repo, target, channels, untrained_model(len(channels.witnesses)), spec, info
            )
        version, _ = add_version(
            repo, target, channels, trained.module, spec, trained.info, span=trained.span
        )
        build_stream(root, spec, production=1, canary=version)
    return root


def cleaner_argv(data_dir: Path, project_dir: Path, url: str, start: int, *extra: str) -> list[str]:
    return [
        "cleaner",
        "--data-dir",
        str(data_dir),
        "--project-dir",
        str(project_dir),
        "--ifo",
        IFO,
        "--triton-url",
        url,
        "--start",
        str(start),
        "--metrics-port",
        "0",
        *extra,
    ]


def start_process(argv: list[str], log: Path) -> subprocess.Popen:
    """``deepclean ARGV`` as a child process logging to ``log``."""
    handle = open(log, "ab")  # noqa: SIM115
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "deepclean.services.cli", *argv],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=env,
    )


def stop_process(proc: subprocess.Popen, timeout: float = 30.0) -> int:
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(10)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def cleaned_files(project_dir: Path) -> dict[int, Path]:
    out = {}
    for path in (project_dir / "cleaned" / IFO).glob("H-H1_llhoft_deepclean-*-1.gwf"):
        out[int(path.name.split("-")[-2])] = path
    return out


def read_cleaned(path: Path) -> dict[str, np.ndarray]:
    names = [p.channel(IFO) for p in Product] + [f.channel(IFO) for f in Flag]
    gps = int(path.name.split("-")[-2])
    return {
        name.split(":", 1)[1]: ch.data
        for name, ch in read_frame(path, names, expected_t0=gps).items()
    }


def load_report(path: Path) -> dict:
    return json.loads(path.read_text())


class ServiceThread:
    """A CleanerService running in a thread (as the ``deepclean cleaner`` process would), stopped on
    exit."""

    def __init__(self, data_dir: Path, project_dir: Path, url: str, start: int, **settings) -> None:
        import threading

        from deepclean.services.cleaner.service import CleanerService
        from deepclean.services.cleaner.settings import CleanerSettings
        from deepclean.utils.config import load_settings

        values = {
            "data_dir": data_dir,
            "project_dir": project_dir,
            "ifo": IFO,
            "triton_url": url,
            "start": start,
            "metrics_port": 0,
            "frame_timeout": 10.0,
            **settings,
        }
        self.settings = load_settings(
            CleanerSettings, values, environ={}, pyproject=None, env_file=None
        )
        self.service = CleanerService(self.settings)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="cleaner", daemon=True)

    def _run(self) -> None:
        try:
            self.service.run()
        except BaseException as exc:  # reported by stop()
            self.error = exc

    def __enter__(self) -> ServiceThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.service.stop()
        self.thread.join(60)
        assert not self.thread.is_alive(), "the cleaner did not stop within 60 s"
        if self.error is not None:
            raise self.error


def simulate_live(
    data_dir: Path, start: int, duration: int, speed: float, log: Path, *extra: str
) -> subprocess.Popen:
    """``deepclean simulate`` in real time x ``speed`` (a child process)."""
    return start_process(
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
            "--speed",
            str(speed),
            *SIM_FLAGS,
            *extra,
        ],
        log,
    )


def asd(x: np.ndarray, fs: float = 4096.0) -> tuple[np.ndarray, np.ndarray]:
    from scipy import signal

    f, p = signal.welch(x, fs=fs, nperseg=int(2 * fs), noverlap=int(fs))
    return f, np.sqrt(p)


def in_band(f: np.ndarray, bands=((58.0, 62.0),)) -> np.ndarray:
    mask = np.zeros(f.shape, dtype=bool)
    for lo, hi in bands:
        mask |= (f >= lo) & (f <= hi)
    return mask


class Feeder:
    """Copies backfilled frames from ``source`` into ``data_dir`` in real time x ``speed`` (atomic
    renames, as a detector's frame writer), with faults: ``skip_witness`` (strain only), ``corrupt``
    (garbage
    strain file)."""

    def __init__(
        self,
        source: Path,
        data_dir: Path,
        start: int,
        count: int,
        speed: float,
        *,
        skip_witness=(),
        corrupt=(),
    ) -> None:
        import threading

        self.source, self.data_dir, self.start, self.count, self.speed = (
            source,
            data_dir,
            start,
            count,
            speed,
        )
        self.skip_witness, self.corrupt = set(skip_witness), set(corrupt)
        self.written = start - 1  #: newest GPS fed
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="feeder", daemon=True)

    def _copy(self, src: Path, dst: Path, payload: bytes | None = None) -> None:
        import shutil

        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.parent / f".{dst.name}.tmp"
        if payload is None:
            shutil.copyfile(src, tmp)
        else:
            tmp.write_bytes(payload)
        os.replace(tmp, dst)

    def _run(self) -> None:
        from deepclean.utils.frames.naming import FrameKind, frame_path

        try:
            origin = time.monotonic()
            for i in range(self.count):
                gps = self.start + i
                time.sleep(max(0.0, origin + (i + 1) / self.speed - time.monotonic()))
                strain = frame_path(self.source, FrameKind.STRAIN, IFO, gps)
                witness = frame_path(self.source, FrameKind.WITNESS, IFO, gps)
                if not strain.exists():  # dropped at the source
                    continue
                garbage = os.urandom(strain.stat().st_size) if gps in self.corrupt else None
                self._copy(strain, frame_path(self.data_dir, FrameKind.STRAIN, IFO, gps), garbage)
                if gps not in self.skip_witness:
                    self._copy(witness, frame_path(self.data_dir, FrameKind.WITNESS, IFO, gps))
                self.written = gps
        except BaseException as exc:  # reported by join()
            self.error = exc

    def __enter__(self) -> Feeder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.join()

    def join(self) -> None:
        self.thread.join(self.count / self.speed + 60)
        if self.error is not None:
            raise self.error
