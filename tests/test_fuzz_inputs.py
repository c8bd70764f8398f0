"""Random and truncated files in every place a command reads, with the commands run over them.

Places: frames (strain and witness), channel lists, weights, model metadata, configuration
files (``$DEEPCLEAN_CONFIG``) and ``.env`` files (``$DEEPCLEAN_ENV_FILE``). Each file is
made from a real one by a seeded mutation: random bytes, a truncation, flipped bytes, or
empty. Every run is bounded in time (pytest-timeout) and must end without a traceback;
a run that fails must have written nothing, and a run that succeeds (the mutation left a
valid file, or a damaged frame was skipped as dropped) must not have written anything
derived from the damaged input.
"""

from __future__ import annotations

import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest

from deepclean.services.offline.clean import cleaned_frame_name
from deepclean.utils.frames.naming import FrameKind, frame_path

from .services.trainer.sim_helpers import GPS, IFO, TINY_TRAIN, flags, run_cli, simulate

pytestmark = pytest.mark.timeout(90)

REPO = Path(__file__).resolve().parents[1]
CLEAN_START, CLEAN_SECONDS = GPS + 36, 10
GEOMETRY = ["--inference-sampling-rate", "8", "--inference-batch-size", "4", "--max-latency", "0.5"]
MUTATIONS = ("random", "truncated", "flipped", "empty")


def mutate(original: bytes, how: str, seed: int) -> bytes:
    """``original`` damaged by ``how`` (deterministic for ``seed``)."""
    rng = np.random.default_rng(seed)
    if how == "random":
        return rng.integers(0, 256, int(rng.integers(1, 4096)), dtype=np.uint8).tobytes()
    if how == "truncated":
        return original[: int(rng.integers(0, max(len(original), 1)))]
    if how == "flipped":
        data = bytearray(original)
        for index in rng.integers(0, len(data), max(1, len(data) // 200)):
            data[index] ^= int(rng.integers(1, 256))
        return bytes(data)
    return b""


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("fuzz")
    data = simulate(root / "data", 52)
    model = root / "model"
    assert (
        run_cli(
            [
                "train",
                "--profile",
                "cpu",
                "--data-dir",
                str(data),
                "--ifo",
                IFO,
                "--channels",
                str(data / "channels.txt"),
                "--start",
                str(GPS),
                "--duration",
                "32",
                "--output-dir",
                str(model),
                *flags(TINY_TRAIN),
            ]
        )
        == 0
    )
    return data, model


def run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = run_cli(argv)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    assert "weights_only" not in err, err
    if code != 0:
        assert any("error:" in line for line in err.splitlines()), err
    return int(code or 0), err


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def clean_argv(data: Path, weights: Path, out: Path) -> list[str]:
    return [
        "clean-offline",
        "--profile",
        "cpu",
        "--data-dir",
        str(data),
        "--ifo",
        IFO,
        "--weights",
        str(weights),
        "--start",
        str(CLEAN_START),
        "--duration",
        str(CLEAN_SECONDS),
        "--output-dir",
        str(out),
        "--num-threads",
        "1",
        "--allow-worse",
        *GEOMETRY,
    ]


def train_argv(data: Path, channels: Path, out: Path, *extra: str) -> list[str]:
    return [
        "train",
        "--profile",
        "cpu",
        "--data-dir",
        str(data),
        "--ifo",
        IFO,
        "--channels",
        str(channels),
        "--start",
        str(GPS),
        "--duration",
        "32",
        "--output-dir",
        str(out),
        *flags(TINY_TRAIN),
        *extra,
    ]


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    for var in ("DEEPCLEAN_ENV_FILE", "DEEPCLEAN_CONFIG", "DEEPCLEAN_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


# --------------------------------------------------------------------------- model files


@pytest.mark.parametrize("how", MUTATIONS)
@pytest.mark.parametrize("name", ["weights.pt", "metadata.json"])
def test_model_files(name, how, shared, tmp_path, capsys):
    data, model = shared
    damaged = tmp_path / "model"
    shutil.copytree(model, damaged)
    (damaged / name).write_bytes(
        mutate((model / name).read_bytes(), how, seed=zlib.crc32(f"{name}{how}".encode()))
    )
    out = tmp_path / "out"
    code, err = run(clean_argv(data, damaged, out), capsys)
    if code != 0:
        assert not out.exists(), err
        assert str(damaged) in err


@pytest.mark.parametrize("how", ["random", "truncated"])
def test_init_weights(how, shared, tmp_path, capsys):
    data, model = shared
    damaged = tmp_path / "init"
    shutil.copytree(model, damaged)
    (damaged / "weights.pt").write_bytes(mutate((model / "weights.pt").read_bytes(), how, seed=7))
    out = tmp_path / "out"
    code, err = run(
        train_argv(data, data / "channels.txt", out, "--init-weights", str(damaged)), capsys
    )
    assert code != 0 and not out.exists() and str(damaged) in err


# --------------------------------------------------------------------------- channel lists


@pytest.mark.parametrize("how", MUTATIONS)
def test_channel_list(how, shared, tmp_path, capsys):
    data, _ = shared
    channels = tmp_path / "channels.txt"
    channels.write_bytes(mutate((data / "channels.txt").read_bytes(), how, seed=11))
    out = tmp_path / "out"
    code, err = run(train_argv(data, channels, out), capsys)
    if code != 0:
        assert not out.exists(), err


# --------------------------------------------------------------------------- configuration files


@pytest.mark.parametrize("how", MUTATIONS)
@pytest.mark.parametrize("kind", ["config", "env"])
def test_settings_files(kind, how, shared, tmp_path, capsys, monkeypatch):
    data, model = shared
    source = REPO / ("pyproject.toml" if kind == "config" else ".env.example")
    damaged = tmp_path / ("pyproject.toml" if kind == "config" else "settings.env")
    damaged.write_bytes(mutate(source.read_bytes(), how, seed=zlib.crc32(f"{kind}{how}".encode())))
    monkeypatch.setenv(
        "DEEPCLEAN_CONFIG" if kind == "config" else "DEEPCLEAN_ENV_FILE", str(damaged)
    )
    sim_dir, out = tmp_path / "sim", tmp_path / "out"
    code, _ = run(
        [
            "simulate",
            "--data-dir",
            str(sim_dir),
            "--ifo",
            IFO,
            "--start",
            str(GPS),
            "--duration",
            "1",
            "--backfill",
        ],
        capsys,
    )
    if code != 0:
        assert not sim_dir.exists()
    code, _ = run(clean_argv(data, model, out), capsys)
    if code != 0:
        assert not out.exists()


# --------------------------------------------------------------------------- frames


def _copy_span(data: Path, target: Path, start: int, stop: int) -> None:
    for kind in (FrameKind.STRAIN, FrameKind.WITNESS):
        for gps in range(start, stop):
            source = frame_path(data, kind, IFO, gps)
            dest = frame_path(target, kind, IFO, gps)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)


@pytest.mark.parametrize("how", MUTATIONS)
@pytest.mark.parametrize("kind", [FrameKind.STRAIN, FrameKind.WITNESS])
def test_one_damaged_frame(kind, how, shared, tmp_path, capsys):
    """A damaged frame inside the span is a dropped second: no cleaned frame is made from it."""
    data, model = shared
    copy = tmp_path / "data"
    _copy_span(data, copy, CLEAN_START - 6, GPS + 52)
    bad_gps = CLEAN_START + 3
    path = frame_path(copy, kind, IFO, bad_gps)
    path.write_bytes(mutate(path.read_bytes(), how, seed=zlib.crc32(f"{kind}{how}".encode())))
    out = tmp_path / "out"
    code, err = run(clean_argv(copy, model, out), capsys)
    if code == 0:
        assert not (out / cleaned_frame_name(IFO, bad_gps)).exists()
        assert (out / cleaned_frame_name(IFO, CLEAN_START)).exists()
    else:
        assert not out.exists(), err


@pytest.mark.parametrize("how", ["random", "truncated"])
def test_every_strain_frame_damaged(how, shared, tmp_path, capsys):
    data, model = shared
    copy = tmp_path / "data"
    _copy_span(data, copy, GPS, GPS + 52)
    for gps in range(GPS, GPS + 52):
        path = frame_path(copy, FrameKind.STRAIN, IFO, gps)
        path.write_bytes(mutate(path.read_bytes(), how, seed=gps))
    out, model_out = tmp_path / "out", tmp_path / "model"
    code, err = run(clean_argv(copy, model, out), capsys)
    assert code != 0 and not out.exists() and str(copy) in err
    code, err = run(train_argv(copy, data / "channels.txt", model_out), capsys)
    assert code != 0 and files_under(model_out) == [] and str(copy) in err
