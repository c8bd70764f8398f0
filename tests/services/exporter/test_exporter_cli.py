"""``deepclean exporter`` start-up without a server: settings and IFO, waiting for Triton, and the
checks and repairs of the repository before anything is served (configs only, url=None)."""

from __future__ import annotations

import logging
import re

import pytest
import torch

from deepclean.services.cli import build_parser, main
from deepclean.services.exporter.cli import load, wait_for_triton
from deepclean.services.exporter.export import add_version, untrained_model
from deepclean.services.exporter.repository import ModelStore
from deepclean.utils.channels import parse_channels
from deepclean.utils.errors import ConfigError, ServerUnavailableError
from deepclean.utils.export import ModelRepository
from deepclean.utils.export.config import specific_versions
from deepclean.utils.products import VersionInfo, parse_version_info
from deepclean.utils.triton.server import free_port
from deepclean.utils.triton.versions import read_versions

from .exporter_helpers import settings

H1 = ["H1:GDS-CALIB_STRAIN", "H1:PEM-CS_MAINSMON_EBAY_1_DQ", "H1:ASC-DHARD_P_OUT_DQ"]


@pytest.fixture(autouse=True)
def clean_env(tmp_path, monkeypatch):
    for name in ("IFO", "DEEPCLEAN_EXPORTER_IFO", "DEEPCLEAN_PROFILE", "DATA_DIR", "PROJECT_DIR"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "empty.env").write_text("")
    monkeypatch.setenv("DEEPCLEAN_ENV_FILE", str(tmp_path / "empty.env"))
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _args(*argv: str):
    parser, _ = build_parser()
    return parser.parse_args(["exporter", *argv])


def test_ifo_from_channels_and_default_channel_file(tmp_path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "channels.txt").write_text("\n".join(c.replace("H1:", "L1:") for c in H1) + "\n")
    s, profile, channels = load(_args("--data-dir", str(data), "--profile", "cpu"))
    assert (s.ifo, profile, channels.strain) == ("L1", "cpu", "L1:GDS-CALIB_STRAIN")
    assert (
        s.channels == [str(data / "channels.txt")]
        and s.inference_sampling_rate == 32.0
        and s.band_margin == 1.0
    )
    with pytest.raises(
        ConfigError, match="channel L1:GDS-CALIB_STRAIN belongs to L1, but the configured IFO is H1"
    ):
        load(_args("--data-dir", str(data), "--ifo", "H1"))


def test_bad_settings_stop_with_one_line(capsys) -> None:
    assert main(["exporter", "--keep-versions", "1", "--channels", *H1]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.match(
        r"deepclean exporter: error: setting keep_versions = '1' \(from command line "
        r"--keep-versions\): Input should be greater than or equal to 2",
        err[0],
    ), err


def test_waits_for_triton_then_gives_up(caplog) -> None:
    url = f"127.0.0.1:{free_port()}"
    with (
        caplog.at_level(logging.INFO),
        pytest.raises(
            ServerUnavailableError, match=rf"Triton at {url} did not answer within 0.5 s"
        ),
    ):
        wait_for_triton(url, 0.5)
    assert any(f"waiting for Triton at {url} (attempt 1" in r.message for r in caplog.records)


@pytest.fixture
def built(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "channels.txt").write_text("\n".join(H1) + "\n")
    s = settings(tmp_path / "project", data)
    store = ModelStore(s, parse_channels(s.channels, s.ifo), url=None)
    assert store.bootstrap() == {"production": 1, "canary": 1}
    return s, store


def test_untrained_placeholder(built) -> None:
    s, store = built
    dc = ModelRepository(s.repository)["deepclean"]
    assert dc.versions == [1]
    assert parse_version_info(dc.parameters["version_info"]) == {
        1: VersionInfo(trained=False, bands=[[58.0, 62.0]], filter_bands=[[57.0, 63.0]])
    }  # cpu profile: 1 Hz margin
    x = torch.randn(3, 2, 4096) * 1e3
    assert torch.equal(untrained_model(2)(x), torch.zeros(3, 4096))
    assert store.versions()["production"] == {
        "version": 1,
        "trained": False,
        "span": None,
        "model_dir": None,
        "valid_loss": None,
        "in_band_ratio": None,
        "bands": [[58.0, 62.0]],
        "filter_bands": [[57.0, 63.0]],
        "verified": True,
    }


def test_restart_removes_what_an_interrupted_export_left(built) -> None:
    s, store = built
    repo = ModelRepository(s.repository)
    info = VersionInfo(trained=True, model_dir="/nowhere")
    add_version(repo, store.target, store.channels, untrained_model(2), store.spec, info)
    repo["deepclean"].keep_versions(
        [1, 2]
    )  # crashed inside set_versions, after widening the policy
    repo["deepclean"].write_config()
    (repo["deepclean"].path / ".export-3-abc").mkdir()
    assert ModelRepository(s.repository)["deepclean"].versions == [1, 2]
    assert ModelStore(s, store.channels, url=None).bootstrap() == {"production": 1, "canary": 1}
    dc = ModelRepository(s.repository)["deepclean"]
    assert dc.versions == [1] and sorted(parse_version_info(dc.parameters["version_info"])) == [1]
    assert specific_versions(dc.config) == [1]
    assert not list(dc.path.glob(".export-*"))


def test_repository_built_with_other_settings_is_refused(built, tmp_path) -> None:
    s, store = built
    other = settings(s.project_dir, s.data_dir, inference_sampling_rate=16.0)
    with pytest.raises(
        ConfigError,
        match=r"was built with other settings: stride_length 0.03125 \(settings: 0.0625\)",
    ):
        ModelStore(other, store.channels, url=None).bootstrap()
    old = settings(
        s.project_dir,
        s.data_dir,
        repository_directory=tmp_path / "windowed",
        stream_mode="windowed",
    )
    ModelStore(
        old, store.channels, url=None
    ).bootstrap()  # a repository from before contiguous was the default
    new = settings(s.project_dir, s.data_dir, repository_directory=tmp_path / "windowed")
    with pytest.raises(
        ConfigError,
        match=r"stream_mode 'windowed' \(settings: 'contiguous'\).*needs stream_mode "
        r"windowed \(DEEPCLEAN_EXPORTER_STREAM_MODE=windowed\)",
    ):
        ModelStore(new, store.channels, url=None).bootstrap()
    foreign = tmp_path / "foreign"
    (foreign / "some-model").mkdir(parents=True)
    (foreign / "some-model" / "config.pbtxt").write_text('name: "some-model"\nbackend: "python"\n')
    with pytest.raises(ConfigError, match=r"holds \['some-model'\] but no deepclean-stream"):
        ModelStore(
            settings(s.project_dir, s.data_dir, repository_directory=foreign),
            store.channels,
            url=None,
        ).bootstrap()
    assert read_versions(s.repository) == {"production": 1, "canary": 1}


def test_no_triton_stops_with_one_line(tmp_path, capsys) -> None:
    """The whole command: waits (one log line per retry), then exits 1 with one error line."""
    from ..trainer.sim_helpers import run_cli

    url = f"127.0.0.1:{free_port()}"
    code = run_cli(
        [
            "exporter",
            "--channels",
            *H1,
            "--project-dir",
            str(tmp_path / "p"),
            "--triton-url",
            url,
            "--triton-timeout",
            "1",
            "--port",
            str(free_port()),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1, err
    assert errors[0].startswith(
        f"deepclean exporter: error: Triton at {url} did not answer within 1 s ("
    ), errors
    assert f"waiting for Triton at {url} (attempt 1" in err
    assert not (tmp_path / "p" / "model_repo").exists()  # nothing built without a server


def _start_without_triton(tmp_path, capsys, *flags: str) -> str:
    from ..trainer.sim_helpers import run_cli

    argv = ["exporter", "--channels", *H1, "--project-dir", str(tmp_path / "p")]
    argv += ["--triton-url", f"127.0.0.1:{free_port()}", "--triton-timeout", "0.5", *flags]
    assert run_cli(argv) == 1
    return capsys.readouterr().err


def test_every_start_says_whether_it_is_open(tmp_path, capsys, monkeypatch) -> None:
    """The opt-out is a WARNING at every start, before anything else can fail; so is no token."""
    monkeypatch.delenv("DEEPCLEAN_TOKEN", raising=False)
    err = _start_without_triton(tmp_path, capsys, "--insecure-no-token")
    assert re.search(
        r"WARNING .*--insecure-no-token: exports, promotions and rollbacks are served WITHOUT a "
        r"token to anyone who can reach 127.0.0.1:5000",
        err,
    ), err
    err = _start_without_triton(tmp_path, capsys)
    assert re.search(r"WARNING .*no token \(DEEPCLEAN_TOKEN unset .*every POST is refused", err)
    # a token in the .env file of the working directory is the exporter's token
    monkeypatch.delenv("DEEPCLEAN_ENV_FILE")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DEEPCLEAN_TOKEN=from-the-dot-env-file\n")
    err = _start_without_triton(tmp_path, capsys, "--insecure-no-token")
    assert "--insecure-no-token ignored: DEEPCLEAN_TOKEN is set" in err
    assert "state-changing requests need the token" in err and "WITHOUT a token" not in err
