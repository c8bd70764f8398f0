"""The Triton launcher: finding the server environment, the command line, starting and stopping a
real server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deepclean.utils.errors import ServerUnavailableError
from deepclean.utils.triton.ensemble import StreamSpec, write_streaming_models
from deepclean.utils.triton.environment import VENV_ENV, find_venv, prepare_server
from deepclean.utils.triton.server import (
    PortInUseError,
    TritonServer,
    free_port,
    start_on_free_ports,
)


def stubs_serving(repository: Path) -> list[int]:
    """Process ids of python backend stubs serving models of ``repository``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
            except OSError:
                continue
            if "triton_python_backend_stub" in cmdline and str(repository) in cmdline:
                pids.append(int(entry.name))
    return pids


def test_missing_venv_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(
        ServerUnavailableError,
        match=r"no Triton server environment at .*nowhere \(the given venv\): run `./run.sh setup`",
    ):
        find_venv(tmp_path / "nowhere")


def test_venv_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(VENV_ENV, str(tmp_path / "elsewhere"))
    with pytest.raises(
        ServerUnavailableError, match=rf"elsewhere \(\${VENV_ENV}\): run `./run.sh setup`"
    ):
        find_venv()


def test_server_tree_is_laid_out_once() -> None:
    env = prepare_server()
    stub = env.tree / "backends" / "python" / "triton_python_backend_stub"
    assert env.binary.is_file() and os.access(env.binary, os.X_OK) and os.access(stub, os.X_OK)
    before = stub.stat().st_mtime_ns
    assert prepare_server().tree == env.tree and stub.stat().st_mtime_ns == before
    environ = env.environ({"PATH": "/usr/bin", "PYTHONPATH": "/somewhere"})
    assert environ["PATH"].split(os.pathsep)[0] == str(env.venv / "bin")
    assert environ["LD_LIBRARY_PATH"].split(os.pathsep)[:2] == [
        str(env.python_libdir),
        str(env.libs),
    ]
    assert (env.python_libdir / "libpython3.11.so").exists() or any(
        env.python_libdir.glob("libpython3*.so*")
    )
    assert "PYTHONPATH" not in environ


@pytest.mark.parametrize(
    "metrics_port, models, expected, absent",
    [
        (
            9102,
            None,
            ["--metrics-address=127.0.0.1", "--metrics-port=9102", "--load-model=*"],
            ["--allow-metrics=false"],
        ),
        (
            None,
            ["a", "b"],
            ["--allow-metrics=false", "--load-model=a", "--load-model=b"],
            ["--load-model=*"],
        ),
    ],
    ids=["all-models", "named-models-no-metrics"],
)
def test_command_binds_localhost_with_explicit_control(
    tmp_path: Path,
    metrics_port: int | None,
    models: list[str] | None,
    expected: list[str],
    absent: list[str],
) -> None:
    server = TritonServer(
        tmp_path, grpc_port=9101, http_port=9100, metrics_port=metrics_port, load_models=models
    )
    command = server.command(prepare_server())
    for flag in [
        "--model-control-mode=explicit",
        "--grpc-address=127.0.0.1",
        "--grpc-port=9101",
        "--http-address=127.0.0.1",
        "--http-port=9100",
        f"--model-repository={tmp_path.resolve()}",
        *expected,
    ]:
        assert flag in command
    for flag in absent:
        assert flag not in command


def test_repository_must_exist(tmp_path: Path) -> None:
    with pytest.raises(
        ServerUnavailableError, match="model repository .*missing is not a directory"
    ):
        TritonServer(tmp_path / "missing")


@pytest.mark.slow
def test_start_serve_and_stop_cleanly(tmp_path: Path) -> None:
    import tritonclient.grpc as grpcclient

    repository = tmp_path / "repo"
    spec = StreamSpec(
        channels=("S", "A"),
        sample_rate=64,
        kernel_length=1.0,
        stride_length=0.25,
        batch_size=2,
        max_latencies=(0.5,),
    )
    write_streaming_models(repository, spec)
    server = start_on_free_ports(
        repository, load_models=["snapshotter"], log_path=tmp_path / "triton.log"
    )
    with server:
        client = grpcclient.InferenceServerClient(server.grpc_url)
        assert client.is_server_ready() and client.is_model_ready("snapshotter")
        assert not client.is_model_ready(
            "aggregator-production"
        )  # explicit control: only what was asked
        assert stubs_serving(repository)
        pid = server.process.pid
    assert server.poll() is not None
    assert not stubs_serving(repository)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # nothing left in the server's process group


@pytest.mark.slow
def test_failed_start_reports_the_server_log(tmp_path: Path) -> None:
    broken = tmp_path / "repo" / "broken"
    (broken / "1").mkdir(parents=True)
    (broken / "config.pbtxt").write_text(
        'name: "broken"\nbackend: "python"\nmax_batch_size: 0\n'
        'input [{name: "x" data_type: TYPE_FP32 dims: [1]}]\n'
        'output [{name: "y" data_type: TYPE_FP32 dims: [1]}]\n'
    )
    (broken / "1" / "model.py").write_text(
        "class TritonPythonModel:\n    def initialize(self, args):\n        raise "
        "RuntimeError('deliberately broken')\n"
    )
    server = TritonServer(
        tmp_path / "repo",
        grpc_port=free_port(),
        http_port=free_port(),
        metrics_port=None,
        log_path=tmp_path / "triton.log",
    )
    with pytest.raises(
        ServerUnavailableError, match=r"(?s)tritonserver exited with status .*deliberately broken"
    ):
        server.start()
    assert server.poll() is not None
    assert not stubs_serving(tmp_path / "repo")


@pytest.mark.slow
def test_port_taken_by_another_process(tmp_path: Path) -> None:
    import socket

    (tmp_path / "repo").mkdir()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        server = TritonServer(
            tmp_path / "repo",
            grpc_port=taken,
            http_port=free_port(),
            metrics_port=None,
            log_path=tmp_path / "triton.log",
        )
        with pytest.raises(PortInUseError, match="already in use"):
            server.start()
