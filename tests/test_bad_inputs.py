"""Careless inputs to every command: each gets one clear line and changes nothing.

For every case: the command exits non-zero, prints no traceback, its message names the bad
input (the path, setting or value given), no file that existed before changed (checksums
of the shared data, the shared model and the case's own folder) and no output was written
(new files only in a ``*.failed`` diagnosis folder). Everything runs in-process on tiny
simulated data (52 s, two witnesses) and a model trained in seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

from deepclean.services.cli import SUBCOMMANDS, main

from .services.trainer.sim_helpers import GPS, IFO, TINY_TRAIN, flags, run_cli, simulate

pytestmark = pytest.mark.timeout(120)

BINARY = b"\xff\xfe\x00\x81\x9c binary \x00\xc3\x28 not text\n"
CLEAN_START = GPS + 36
GEOMETRY = ["--inference-sampling-rate", "8", "--inference-batch-size", "4", "--max-latency", "0.5"]


@dataclass
class Ctx:
    """What a case builds its command from: shared data and model, its own folder."""

    data: Path
    model: Path
    tmp: Path
    env: dict[str, str] = field(default_factory=dict)
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    @property
    def channels(self) -> Path:
        return self.data / "channels.txt"

    def file(self, name: str, content: bytes | str = b"") -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    def model_copy(self, name: str = "model-copy") -> Path:
        target = self.tmp / name
        shutil.copytree(self.model, target)
        return target

    def locked_dir(self) -> Path:
        """A directory nothing can be written in: immutable (chattr +i) where possible, else
        /proc."""
        folder = self.tmp / "locked"
        folder.mkdir()
        (folder / "keep.txt").write_text("existing\n")
        if (
            shutil.which("chattr")
            and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
        ):
            self.cleanup.append(
                lambda: subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
            )
            return folder / "out"
        return Path("/proc/deepclean-out")


# --------------------------------------------------------------------------- command builders


def sim(c: Ctx, *extra: str, data_dir: Path | None = None) -> list[str]:
    return [
        "simulate",
        "--data-dir",
        str(data_dir or c.tmp / "sim"),
        "--ifo",
        IFO,
        "--start",
        str(GPS),
        "--duration",
        "2",
        "--backfill",
        *extra,
    ]


def train(
    c: Ctx, *extra: str, output: Path | None = None, channels: Path | str | None = None
) -> list[str]:
    return [
        "train",
        "--profile",
        "cpu",
        "--data-dir",
        str(c.data),
        "--ifo",
        IFO,
        "--channels",
        str(channels or c.channels),
        "--start",
        str(GPS),
        "--duration",
        "32",
        "--output-dir",
        str(output or c.tmp / "new-model"),
        *flags(TINY_TRAIN),
        *extra,
    ]


def clean(
    c: Ctx, *extra: str, weights: Path | str | None = None, output: Path | None = None
) -> list[str]:
    return [
        "clean-offline",
        "--profile",
        "cpu",
        "--data-dir",
        str(c.data),
        "--ifo",
        IFO,
        "--weights",
        str(weights or c.model),
        "--start",
        str(CLEAN_START),
        "--duration",
        "10",
        "--output-dir",
        str(output or c.tmp / "cleaned"),
        "--num-threads",
        "1",
        *GEOMETRY,
        *extra,
    ]


def trainer(c: Ctx, *extra: str) -> list[str]:
    return [
        "trainer",
        "--profile",
        "cpu",
        "--data-dir",
        str(c.data),
        "--project-dir",
        str(c.tmp / "project"),
        "--ifo",
        IFO,
        "--channels",
        str(c.channels),
        "--max-runs",
        "1",
        *GEOMETRY,
        *extra,
    ]


def export(
    c: Ctx,
    *extra: str,
    weights: Path | None = None,
    repo: Path | None = None,
    channels: Path | None = None,
) -> list[str]:
    return [
        "export-model",
        "--repository-directory",
        str(repo or c.tmp / "repo"),
        "--channels",
        str(channels or c.channels),
        "--weights",
        str(weights or c.model),
        "--kernel-length",
        "1",
        "--stride-length",
        "0.125",
        "--max-latency",
        "0.5",
        "--platform",
        "python",
        *extra,
        "autoencoder",
    ]


def nan_weights(c: Ctx) -> Path:
    model = c.model_copy("nan-model")
    state = torch.load(model / "weights.pt", weights_only=True)
    name = next(k for k in state if k.startswith("network.") and state[k].is_floating_point())
    state[name].view(-1)[0] = float("nan")
    torch.save(state, model / "weights.pt")
    return model


def worse_model(c: Ctx) -> Path:
    """A model whose noise estimate is 300 times too large: cleaning makes the band worse."""
    model = c.model_copy("worse-model")
    state = torch.load(model / "weights.pt", weights_only=True)
    for key in ("network.output_conv.weight", "network.output_conv.bias"):
        state[key] = state[key] * 300
    torch.save(state, model / "weights.pt")
    return model


def garbage_model(c: Ctx) -> Path:
    model = c.model_copy("garbage-model")
    (model / "weights.pt").write_bytes(os.urandom(2000))
    return model


def with_metadata(c: Ctx, content: bytes | str, name: str = "meta-model") -> Path:
    model = c.model_copy(name)
    (model / "metadata.json").write_bytes(content.encode() if isinstance(content, str) else content)
    return model


def edited_metadata(c: Ctx, **changes) -> Path:
    meta = json.loads((c.model / "metadata.json").read_text())
    meta.update(changes)
    return with_metadata(c, json.dumps(meta), "edited-model")


def cleaned_output(c: Ctx) -> Path:
    """An output folder already holding a report of the span."""
    out = c.tmp / "done"
    out.mkdir()
    (out / "report.json").write_text('{"earlier": true}\n')
    return out


# --------------------------------------------------------------------------- cases: argv and the
# text naming the input

Case = Callable[[Ctx], tuple[list[str], str]]
CASES: dict[str, Case] = {}


def case(name: str) -> Callable[[Case], Case]:
    def register(fn: Case) -> Case:
        assert name not in CASES, name
        CASES[name] = fn
        return fn

    return register


# simulate
case("simulate-data-dir-is-file")(lambda c: (sim(c, data_dir=c.file("afile", "x")), "afile"))
case("simulate-data-dir-under-file")(
    lambda c: (sim(c, data_dir=c.file("afile", "x") / "sub"), "afile")
)
case("simulate-data-dir-unwritable")(lambda c: (sim(c, data_dir=c.locked_dir()), "data_dir"))
case("simulate-start-beyond-gwf")(lambda c: (sim(c, "--start", "99999999999999"), "99999999999999"))
case("simulate-duration-astronomic")(
    lambda c: (sim(c, "--duration", "99999999999999999999"), "99999999999999999999")
)
case("simulate-span-ends-beyond-gwf")(
    lambda c: (sim(c, "--start", "2147483600", "--duration", "100"), "2147483600")
)
case("simulate-duration-exceeds-disk")(
    lambda c: (sim(c, "--start", "0", "--duration", "2000000000"), "duration")
)
case("simulate-frames-exist")(
    lambda c: (
        sim(
            c,
            "--num-witnesses",
            "2",
            "--coupled-witnesses",
            "ASC-DHARD_P_OUT_DQ",
            "--coupling-weights",
            "1.0",
            "--seed",
            "1",
            data_dir=c.data,
        ),
        str(c.data),
    )
)
case("simulate-channel-list-differs")(
    lambda c: (sim(c, "--start", str(GPS + 1000), data_dir=c.data), "channels.txt")
)
case("simulate-sample-rate-not-a-flag")(
    lambda c: (sim(c, "--sample-rate", "2048"), "--sample-rate")
)
case("simulate-drop-rate-above-one")(lambda c: (sim(c, "--drop-rate", "1.5"), "drop_rate"))
case("simulate-drop-streams-unknown")(lambda c: (sim(c, "--drop-streams", "bogus"), "drop_streams"))
case("simulate-span-reversed")(lambda c: (sim(c, "--not-ready-spans", "5-3"), "5-3"))
case("simulate-weights-count-mismatch")(
    lambda c: (sim(c, "--coupling-weights", "1", "2"), "coupling_weights")
)
case("simulate-line-frequency-out-of-range")(
    lambda c: (sim(c, "--line-frequency", "500"), "line_frequency")
)
case("simulate-channels-file-is-dir")(
    lambda c: (sim(c, "--channels-file", str(c.tmp)), "channels_file")
)
case("simulate-partial-delay-infinite")(
    lambda c: (sim(c, "--partial-rate", "0.5", "--partial-delay", "inf"), "partial_delay")
)
case("simulate-speed-nan")(lambda c: (sim(c, "--speed", "nan"), "speed"))
case("simulate-ifo-unknown")(lambda c: (sim(c, "--ifo", "X9"), "X9"))
case("simulate-start-not-a-number")(lambda c: (sim(c, "--start", "yesterday"), "yesterday"))


@case("simulate-env-file-binary")
def _(c):
    c.env["DEEPCLEAN_ENV_FILE"] = str(c.file("binary.env", BINARY))
    return sim(c), "binary.env"


@case("simulate-env-file-nul-bytes")
def _(c):
    c.env["DEEPCLEAN_ENV_FILE"] = str(c.file("nul.env", "IFO=H1\x00\x00\n"))
    return sim(c), "nul.env"


@case("simulate-env-file-is-dir")
def _(c):
    c.env["DEEPCLEAN_ENV_FILE"] = str(c.tmp)
    return sim(c), str(c.tmp)


@case("simulate-env-bad-value")
def _(c):
    c.env["DEEPCLEAN_SIMULATE_SEED"] = "-4"
    return sim(c), "DEEPCLEAN_SIMULATE_SEED"


@case("simulate-config-binary")
def _(c):
    c.env["DEEPCLEAN_CONFIG"] = str(c.file("pyproject.toml", BINARY))
    return sim(c), "pyproject.toml"


@case("simulate-config-not-toml")
def _(c):
    c.env["DEEPCLEAN_CONFIG"] = str(c.file("pyproject.toml", "[tool.deepclean\nifo = "))
    return sim(c), "pyproject.toml"


@case("simulate-config-unknown-setting")
def _(c):
    c.env["DEEPCLEAN_CONFIG"] = str(
        c.file("pyproject.toml", "[tool.deepclean.simulate]\nspeeed = 3\n")
    )
    return sim(c), "speeed"


# train
case("train-output-dir-is-file")(lambda c: (train(c, output=c.file("afile", "x")), "afile"))
case("train-output-dir-under-file")(
    lambda c: (train(c, output=c.file("afile", "x") / "model"), "afile")
)
case("train-output-dir-unwritable")(lambda c: (train(c, output=c.locked_dir()), "output_dir"))
case("train-into-existing-model")(lambda c: (train(c, output=c.model), str(c.model)))
case("train-failed-run-keeps-model")(
    lambda c: (
        train(c, "--overwrite", "--max-valid-loss", "0.0001", output=c.model_copy()),
        "max_valid_loss",
    )
)
case("train-channels-binary")(
    lambda c: (train(c, channels=c.file("channels.txt", BINARY)), "channels.txt")
)
case("train-channels-missing")(lambda c: (train(c, channels=c.tmp / "nolist.txt"), "nolist.txt"))
case("train-channels-is-dir")(lambda c: (train(c, channels=str(c.tmp) + "/"), str(c.tmp)))
case("train-channels-empty")(
    lambda c: (train(c, channels=c.file("empty.txt", "# nothing\n")), "empty.txt")
)
case("train-channels-other-ifo")(
    lambda c: (
        train(c, channels=c.file("l1.txt", "L1:GDS-CALIB_STRAIN\nL1:PEM-X\n")),
        "L1:GDS-CALIB_STRAIN",
    )
)
case("train-channel-not-in-frames")(
    lambda c: (
        train(c, channels=c.file("ch.txt", "H1:GDS-CALIB_STRAIN\nH1:PEM-NOT_THERE_DQ\n")),
        "H1:PEM-NOT_THERE_DQ",
    )
)
case("train-inference-sampling-rate-3")(
    lambda c: (train(c, "--inference-sampling-rate", "3"), "inference_sampling_rate 3")
)
case("train-max-latency-5")(lambda c: (train(c, "--max-latency", "5"), "max_latency 5"))
case("train-duration-exceeds-memory")(
    lambda c: (train(c, "--duration", "100000000"), "duration = 100000000")
)
case("train-start-beyond-gwf")(lambda c: (train(c, "--start", "99999999999999"), "99999999999999"))
case("train-no-frames-in-span")(lambda c: (train(c, "--start", str(GPS + 10**6)), str(GPS + 10**6)))
case("train-fftlength-above-kernel")(lambda c: (train(c, "--fftlength", "4"), "fftlength"))
case("train-band-above-nyquist")(lambda c: (train(c, "--freq-high", "5000"), "5000"))
case("train-profile-unknown")(lambda c: (train(c, "--profile", "gpu-farm"), "gpu-farm"))
case("train-init-weights-garbage")(
    lambda c: (train(c, "--init-weights", str(garbage_model(c))), "garbage-model")
)
case("train-init-weights-missing")(
    lambda c: (train(c, "--init-weights", str(c.tmp / "gone")), "gone")
)
case("train-kernel-longer-than-span")(
    lambda c: (train(c, "--kernel-length", "100"), "kernel_length")
)
case("train-kernel-stride-below-one-sample")(
    lambda c: (train(c, "--kernel-stride", "0.0001"), "kernel_stride 0.0001")
)
case("train-valid-frac-leaves-no-training")(
    lambda c: (train(c, "--valid-frac", "0.99"), "valid_frac 0.99")
)
case("train-lr-infinite")(lambda c: (train(c, "--lr", "inf"), "lr"))
case("train-sample-rate-not-multiple-of-16")(
    lambda c: (train(c, "--sample-rate", "1000"), "sample_rate 1000")
)
case("train-project-dir-not-a-flag")(lambda c: (train(c, "--project-dir", "x"), "--project-dir"))


@case("train-env-profile-unknown")
def _(c):
    c.env["DEEPCLEAN_PROFILE"] = "turbo"
    return train(c)[:1] + train(c)[3:], "turbo"  # without --profile


# clean-offline
case("clean-weights-nan")(lambda c: (clean(c, weights=nan_weights(c)), "nan-model"))
case("clean-weights-garbage")(
    lambda c: (clean(c, weights=c.file("junk/weights.pt", os.urandom(4096)).parent), "junk")
)
case("clean-weights-truncated")(
    lambda c: (
        clean(
            c, weights=c.file("cut/weights.pt", (c.model / "weights.pt").read_bytes()[:300]).parent
        ),
        "cut",
    )
)
case("clean-weights-text-file")(
    lambda c: (clean(c, weights=c.file("notes.txt", "not a model\n")), "notes.txt")
)
case("clean-weights-missing-dir")(
    lambda c: (clean(c, weights=c.tmp / "no-such-model"), "no-such-model")
)
case("clean-metadata-list")(lambda c: (clean(c, weights=with_metadata(c, "[]")), "metadata.json"))
case("clean-metadata-truncated")(
    lambda c: (
        clean(c, weights=with_metadata(c, (c.model / "metadata.json").read_bytes()[:100])),
        "metadata.json",
    )
)
case("clean-metadata-binary")(
    lambda c: (clean(c, weights=with_metadata(c, BINARY)), "metadata.json")
)
case("clean-metadata-wrong-types")(
    lambda c: (clean(c, weights=edited_metadata(c, channels=5)), "channels")
)
case("clean-metadata-more-witnesses")(
    lambda c: (
        clean(
            c,
            weights=edited_metadata(
                c, channels=["H1:GDS-CALIB_STRAIN", "H1:A-B", "H1:C-D", "H1:E-F"]
            ),
        ),
        "edited-model",
    )
)
case("clean-output-dir-is-file")(lambda c: (clean(c, output=c.file("afile", "x")), "afile"))
case("clean-output-dir-under-file")(
    lambda c: (clean(c, output=c.file("afile", "x") / "out"), "afile")
)
case("clean-output-dir-unwritable")(lambda c: (clean(c, output=c.locked_dir()), "output_dir"))
case("clean-output-dir-has-results")(lambda c: (clean(c, output=cleaned_output(c)), "done"))
case("clean-kernel-length-100")(
    lambda c: (clean(c, "--inference-kernel-length", "100"), "inference_kernel_length")
)
case("clean-inference-sampling-rate-3")(
    lambda c: (clean(c, "--inference-sampling-rate", "3"), "inference_sampling_rate 3")
)
case("clean-max-latency-5")(lambda c: (clean(c, "--max-latency", "5"), "max_latency 5"))
case("clean-duration-exceeds-memory")(
    lambda c: (clean(c, "--duration", "100000000"), "duration = 100000000")
)
case("clean-worse-than-raw")(lambda c: (clean(c, weights=worse_model(c)), "max_in_band_ratio"))
case("clean-sample-rate-mismatch")(lambda c: (clean(c, "--sample-rate", "2048"), "2048"))
case("clean-no-frames-in-span")(lambda c: (clean(c, "--start", str(GPS + 10**6)), str(c.data)))
case("clean-missing-weights-setting")(
    lambda c: ([a for a in clean(c) if a not in ("--weights", str(c.model))], "--weights")
)
case("clean-freq-low-not-a-flag")(lambda c: (clean(c, "--freq-low", "40"), "--freq-low"))
case("clean-filter-pad-infinite")(lambda c: (clean(c, "--filter-pad", "inf"), "filter_pad"))
case("clean-batch-size-zero")(
    lambda c: (clean(c, "--inference-batch-size", "0"), "inference_batch_size")
)
case("clean-ready-taper-negative")(lambda c: (clean(c, "--ready-taper", "-1"), "ready_taper"))


@case("clean-env-file-binary")
def _(c):
    c.env["DEEPCLEAN_ENV_FILE"] = str(c.file("bin.env", BINARY))
    return clean(c), "bin.env"


@case("clean-env-filter-pad-negative")
def _(c):
    c.env["DEEPCLEAN_CLEAN_OFFLINE_FILTER_PAD"] = "-2"
    return clean(c), "DEEPCLEAN_CLEAN_OFFLINE_FILTER_PAD"


# trainer (settings and paths are checked before it starts following frames)
case("trainer-project-dir-is-file")(
    lambda c: (trainer(c, "--project-dir", str(c.file("afile", "x"))), "afile")
)
case("trainer-inference-sampling-rate-3")(
    lambda c: (trainer(c, "--inference-sampling-rate", "3"), "inference_sampling_rate 3")
)
case("trainer-max-latency-5")(lambda c: (trainer(c, "--max-latency", "5"), "max_latency 5"))
case("trainer-start-beyond-gwf")(
    lambda c: (trainer(c, "--start", "99999999999999"), "99999999999999")
)
case("trainer-channels-binary")(
    lambda c: (trainer(c, "--channels", str(c.file("ch.txt", BINARY))), "ch.txt")
)
case("trainer-log-level-unknown")(lambda c: (trainer(c, "--log-level", "LOUD"), "LOUD"))


@case("trainer-env-file-binary")
def _(c):
    c.env["DEEPCLEAN_ENV_FILE"] = str(c.file("t.env", BINARY))
    return trainer(c), "t.env"


# triton (no server is started: every case fails before)
case("triton-repository-missing")(
    lambda c: (["triton", "--model-repository", str(c.tmp / "norepo")], "norepo")
)
case("triton-repository-is-file")(
    lambda c: (["triton", "--model-repository", str(c.file("afile", "x"))], "afile")
)
case("triton-port-out-of-range")(
    lambda c: (["triton", "--model-repository", str(c.tmp), "--grpc-port", "70000"], "70000")
)
case("triton-ifo-not-a-flag")(
    lambda c: (["triton", "--model-repository", str(c.tmp), "--ifo", "H1"], "--ifo")
)

# export-model, through the shared mechanism only (its internals belong to the exporter)
case("export-repository-is-file")(lambda c: (export(c, repo=c.file("afile", "x")), "afile"))
case("export-weights-garbage")(lambda c: (export(c, weights=garbage_model(c)), "garbage-model"))
case("export-channels-binary")(lambda c: (export(c, channels=c.file("ch.txt", BINARY)), "ch.txt"))


@case("export-config-pbtxt-binary")
def _(c):
    repo = c.tmp / "repo"
    c.file("repo/deepclean/config.pbtxt", BINARY)
    return export(c, repo=repo), "config.pbtxt"


# the services (settings and files read before they start serving)
def service(c: Ctx, command: str, *extra: str) -> list[str]:
    common = ["--data-dir", str(c.data), "--project-dir", str(c.tmp / "project"), "--ifo", IFO]
    urls = {
        "exporter": ["--channels", str(c.channels), "--triton-url", "127.0.0.1:1"],
        "cleaner": ["--triton-url", "127.0.0.1:1"],
        "monitor": ["--exporter-url", "http://127.0.0.1:1", "--triton-url", "127.0.0.1:1"],
    }[command]
    return [command, *common, *urls, *extra]


case("exporter-channels-binary")(
    lambda c: (service(c, "exporter", "--channels", str(c.file("ch.txt", BINARY))), "ch.txt")
)
case("exporter-port-out-of-range")(lambda c: (service(c, "exporter", "--port", "70000"), "70000"))
case("cleaner-metrics-port-out-of-range")(
    lambda c: (service(c, "cleaner", "--metrics-port", "70000"), "70000")
)
case("cleaner-grace-negative")(lambda c: (service(c, "cleaner", "--grace", "-1"), "grace"))
case("monitor-max-ratio-negative")(
    lambda c: (service(c, "monitor", "--max-ratio", "-1"), "max_ratio")
)
case("monitor-port-out-of-range")(lambda c: (service(c, "monitor", "--port", "70000"), "70000"))
case("monitor-exporter-url-without-scheme")(
    lambda c: (
        service(c, "monitor", "--exporter-url", "127.0.0.1:5000"),
        "exporter_url = '127.0.0.1:5000'",
    )
)
case("cleaner-triton-url-with-scheme")(
    lambda c: (
        service(c, "cleaner", "--triton-url", "grpc://127.0.0.1:8001"),
        "triton_url = 'grpc://127.0.0.1:8001'",
    )
)
case("exporter-triton-url-bad-port")(
    lambda c: (
        service(c, "exporter", "--triton-url", "127.0.0.1:99999"),
        "triton_url = '127.0.0.1:99999'",
    )
)
case("trainer-notify-url-without-scheme")(
    lambda c: (
        [
            "trainer",
            "--data-dir",
            str(c.data),
            "--project-dir",
            str(c.tmp / "project"),
            "--ifo",
            IFO,
            "--notify-url",
            "localhost:5000/models",
        ],
        "notify_url = 'localhost:5000/models'",
    )
)
for _command in ("exporter", "cleaner", "monitor"):

    def _env_case(c, command=_command):
        c.env["DEEPCLEAN_ENV_FILE"] = str(c.file(f"{command}.env", BINARY))
        return service(c, command), f"{command}.env"

    case(f"{_command}-env-file-binary")(_env_case)


# --------------------------------------------------------------------------- the test


def checksums(*roots: Path) -> dict[Path, str]:
    out = {}
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            if path.is_file() and not path.is_symlink():
                out[path] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("bad-inputs")
    data = simulate(root / "data", 52)
    model = root / "model"
    code = run_cli(
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
    assert code == 0
    return data, model


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name: str, shared, tmp_path: Path, capsys, monkeypatch) -> None:
    data, model = shared
    c = Ctx(data=data, model=model, tmp=tmp_path / "case")
    c.tmp.mkdir()
    for var in ("DEEPCLEAN_ENV_FILE", "DEEPCLEAN_CONFIG", "DEEPCLEAN_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray ./.env
    try:
        argv, named = CASES[name](c)
        for key, value in c.env.items():
            monkeypatch.setenv(key, value)
        before = checksums(data, model, c.tmp)
        try:
            code = run_cli(argv)
        except SystemExit as exc:  # argparse: usage line + one error line
            code = exc.code
        err = capsys.readouterr().err
        after = checksums(data, model, c.tmp)
    finally:
        for undo in c.cleanup:
            undo()
    assert code not in (0, None), f"{name} exited 0:\n{err}"
    assert "Traceback" not in err and "weights_only" not in err, err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert errors, err
    assert any(named in line for line in errors), f"{named!r} not named in:\n{err}"
    changed = [str(p) for p, digest in before.items() if after.get(p) != digest]
    assert not changed, f"{name} changed or removed {changed}"
    new = [str(p) for p in set(after) - set(before) if ".failed" not in str(p)]
    assert not new, f"{name} wrote {new}"


def test_enough_cases_over_every_command() -> None:
    assert len(CASES) >= 60
    commands = {name.split("-")[0] for name in CASES}
    assert {
        "simulate",
        "train",
        "clean",
        "trainer",
        "triton",
        "export",
        "exporter",
        "cleaner",
        "monitor",
    } <= commands


def test_bug_gets_traceback_and_hint(monkeypatch, capsys) -> None:
    """A real bug (an exception nobody expected) keeps its traceback, plus a line asking to report
    it."""
    import deepclean.services.simulate.cli as simulate_cli

    def broken(args):
        raise KeyError("internal")

    monkeypatch.setattr(simulate_cli, "run", broken)
    assert main(["simulate"]) == 70
    err = capsys.readouterr().err
    assert "Traceback" in err and "KeyError: 'internal'" in err and "please report it" in err


def test_help_shows_defaults_as_typed(capsys) -> None:
    for command in SUBCOMMANDS:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = capsys.readouterr().out
        assert (
            "PydanticUndefined" not in out and "<Stream." not in out and "<Profile." not in out
        ), command
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "(default: strain witness)" in out
        and "(default: --no-backfill)" in out
        and "--overwrite" in out
    )
