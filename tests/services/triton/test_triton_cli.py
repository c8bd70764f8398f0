"""``deepclean triton``: flags, clear errors, and a real server run in the foreground until a
signal."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from deepclean.services.cli import main
from deepclean.utils.triton.ensemble import StreamSpec, write_streaming_models
from deepclean.utils.triton.server import free_port


def test_help_lists_the_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["triton", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--model-repository", "--grpc-port", "--http-port", "--metrics-port", "--venv"):
        assert flag in out
    assert "--ifo" not in out  # shared settings that mean nothing to the server are left out


def test_missing_repository_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["triton", "--model-repository", str(tmp_path / "none")]) == 2
    assert "setting model_repository" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--grpc-port", "70000"], "setting grpc_port = '70000'"),
        (["--metrics-port", "-1"], "setting metrics_port = '-1'"),
    ],
    ids=["grpc-port", "metrics-port"],
)
def test_bad_ports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["triton", "--model-repository", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err


def test_missing_server_environment_says_run_setup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["triton", "--model-repository", str(tmp_path), "--venv", str(tmp_path / "no-venv")])
        == 1
    )
    assert "run `./run.sh setup`" in capsys.readouterr().err


def wait_ready(http_port: int, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{http_port}/v2/health/ready", timeout=2
            ) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not become ready")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serves_until_signal_then_stops_cleanly(tmp_path: Path, signum: signal.Signals) -> None:
    repository = tmp_path / "repo"
    write_streaming_models(
        repository,
        StreamSpec(
            channels=("S", "A"), sample_rate=64, kernel_length=1.0, stride_length=0.25, batch_size=2
        ),
    )
    grpc_port, http_port, metrics_port = free_port(), free_port(), free_port()
    command = [
        sys.executable,
        "-m",
        "deepclean.services.cli",
        "triton",
        "--model-repository",
        str(repository),
        "--grpc-port",
        str(grpc_port),
        "--http-port",
        str(http_port),
        "--metrics-port",
        str(metrics_port),
    ]
    # started with SIGINT ignored, as a shell starts a background job (`./run.sh test &`): Python
    # then raises no KeyboardInterrupt, and the command must handle SIGINT itself (it once hung
    # there)
    log = tmp_path / "triton.out"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
    try:
        wait_ready(http_port, process)
        with urllib.request.urlopen(
            f"http://127.0.0.1:{http_port}/v2/models/aggregator-canary/ready"
        ) as response:
            assert response.status == 200  # every model of the repository was loaded at start
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as response:
            assert b"nv_inference_request_success" in response.read()
        process.send_signal(signum)
        process.wait(
            timeout=60
        )  # the server's own stop waits 20 s at most before killing its group
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = log.read_text(errors="replace")
    assert process.returncode == 0, output
    assert f"{signum.name} received; stopping Triton" in output or "SIGINT" in output
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{http_port}/v2/health/live", timeout=2)
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit() and _serves(p, repository)]


def _serves(proc: Path, repository: Path) -> bool:
    try:
        return str(repository) in (proc / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
