"""deepclean up in a sandbox: every port a service listens on comes from the environment given."""

from pathlib import Path

from deepclean.services.up.ports import read_ports
from deepclean.services.up.sandbox import PORT_ENV, free_ports, sandbox_env


def test_sandbox_environment_moves_every_port(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DEEPCLEAN_TRITON_VENV", ".triton/venv")
    ports = free_ports()
    assert set(ports) == set(PORT_ENV) and len(set(ports.values())) == len(ports)
    env = sandbox_env(tmp_path, ports, prometheus=False)
    assert env["DEEPCLEAN_ENV_FILE"] == str(tmp_path / "empty.env")
    assert env["DEEPCLEAN_UP_PROMETHEUS_PORT"] == "0"
    assert Path(env["DEEPCLEAN_TRITON_VENV"]).is_absolute()
    assert sandbox_env(tmp_path, ports, prometheus=True)["DEEPCLEAN_UP_PROMETHEUS_PORT"] == str(
        ports["prometheus"]
    )
    # the services read their ports from it, through their own settings
    (tmp_path / "empty.env").write_text("")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    seen = read_ports()
    assert (seen.triton_http, seen.triton_grpc, seen.exporter, seen.monitor) == (
        ports["triton_http"],
        ports["triton_grpc"],
        ports["exporter"],
        ports["monitor"],
    )
    assert (seen.cleaner_metrics, seen.triton_metrics) == (
        ports["cleaner"],
        ports["triton_metrics"],
    )
