"""docker-compose.cpu.yml keeps the CPU stack in step with the GPU one: both files resolved by a
real compose implementation (podman-compose) must give the same services with the same commands,
volumes, environment, healthchecks and dependencies; only Triton's image (and its build), the
GPU device reservations, the networking of an engine without bridge networking and with it
the bind addresses (127.0.0.1 on the host's network) may differ.
No Docker needed; scripts/compose-smoke runs the same files on a real engine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.test_compose import BIND, COMPOSE, CPU_OVERRIDE, ENV_EXAMPLE, ROOT, compose_config

#: what the override may set: per service, beyond the networking every service gets
NETWORKING = {"network_mode", "extra_hosts", "ports"}
ALLOWED = {name: NETWORKING | {"deploy"} for name in ("exporter", "trainer")}
ALLOWED |= {name: set(NETWORKING) for name in ("cleaner", "monitor", "simulator")}
ALLOWED["triton"] = NETWORKING | {"deploy", "image", "build"}
ALLOWED["prometheus"] = NETWORKING | {"command"}  # profile observability; its listen address
for _name in BIND:  # the bind address, in the environment: 127.0.0.1 on the host's network
    ALLOWED[_name] = ALLOWED[_name] | {"environment"}
TRITON_CPU_DOCKERFILE = ROOT / "services" / "triton" / "Dockerfile.cpu"


class _OverrideLoader(yaml.SafeLoader):
    """Reads the override as written, with the Compose Specification's merge tags."""


for _tag in ("!reset", "!override"):
    _OverrideLoader.add_constructor(
        _tag, lambda loader, node: node.tag
    )  # only which keys are set matters here


def _resolve(*files: Path) -> dict:
    result = compose_config(*files)
    assert result.returncode == 0, result.stderr[-3000:]
    return yaml.safe_load(result.stdout)["services"]


@pytest.fixture(scope="module")
def gpu() -> dict:
    return _resolve(COMPOSE)


@pytest.fixture(scope="module")
def cpu() -> dict:
    return _resolve(COMPOSE, CPU_OVERRIDE)


@pytest.fixture(scope="module")
def override() -> dict:
    return yaml.load(CPU_OVERRIDE.read_text(), Loader=_OverrideLoader)


def test_same_services(gpu: dict, cpu: dict) -> None:
    assert set(cpu) == set(gpu)


@pytest.mark.parametrize(
    "key",
    [
        "command",
        "volumes",
        "environment",
        "healthcheck",
        "depends_on",
        "user",
        "working_dir",
        "restart",
        "profiles",
        "shm_size",
    ],
)
def test_same_everything_but_image_devices_and_networking(gpu: dict, cpu: dict, key: str) -> None:
    def without_bind(name: str, service: dict):
        value = service.get(key)
        if key == "environment" and name in BIND:
            value = {k: v for k, v in value.items() if k != BIND[name]}
        return value

    for name in gpu:
        assert without_bind(name, cpu[name]) == without_bind(name, gpu[name]), (
            f"{name}: {key} differs between the GPU and CPU files"
        )


def test_loopback_on_the_host_network(gpu: dict, cpu: dict) -> None:
    """Host networking: every server binds 127.0.0.1 (Triton's gRPC, HTTP and metrics too);
    on the compose network the container's interfaces, published on 127.0.0.1 only."""
    for name, variable in BIND.items():
        assert cpu[name]["environment"][variable] == "127.0.0.1", name
        assert gpu[name]["environment"][variable] == "0.0.0.0", name
    for files in (gpu, cpu):
        for name, service in files.items():
            assert "0.0.0.0" not in " ".join(map(str, service["command"])), name
    script = cpu["triton"]["command"][2]
    for flag in ("--grpc-address", "--http-address", "--metrics-address"):
        assert f'{flag}="$TRITON_BIND_ADDRESS"' in script


def test_no_other_key_differs(gpu: dict, cpu: dict) -> None:
    for name in gpu:
        differing = {
            k for k in set(gpu[name]) | set(cpu[name]) if gpu[name].get(k) != cpu[name].get(k)
        }
        assert differing <= ALLOWED[name], f"{name}: {sorted(differing - ALLOWED[name])} differ"


def test_override_sets_only_what_a_cpu_machine_lacks(override: dict) -> None:
    assert set(override) == {"services"}, "the override holds services only"
    for name, service in override["services"].items():
        assert set(service) <= ALLOWED[name], (
            f"{name} overrides {sorted(set(service) - ALLOWED[name])}"
        )
        assert set(service.get("environment", {})) <= {BIND.get(name)}, name


def test_cpu_stack_has_no_gpu_and_host_networking(gpu: dict, cpu: dict) -> None:
    assert any("deploy" in service for service in gpu.values()), "the GPU file reserves GPUs"
    for name, service in cpu.items():
        assert "deploy" not in service, f"{name} still reserves a device"
        assert not service.get("ports"), f"{name} publishes ports on a host-network container"
        assert service["network_mode"] == "host", name


def _hosts_in(command: list) -> set[str]:
    """Host names the command line connects to (``name:port`` and ``http://name:port``)."""
    hosts = set()
    for arg in map(str, command):
        match = re.fullmatch(r"(?:https?://)?([a-z][\w.-]*):\d+(?:/.*)?", arg)
        if match:
            hosts.add(match[1])
    return hosts


def test_service_names_resolve_to_the_host(gpu: dict, cpu: dict) -> None:
    for name, service in gpu.items():
        hosts = _hosts_in(service["command"])
        assert hosts <= set(gpu), (
            f"{name} connects to {sorted(hosts - set(gpu))}, not services of the file"
        )
        mapped = dict(entry.split(":", 1) for entry in cpu[name].get("extra_hosts", []))
        assert {host: mapped.get(host) for host in hosts} == dict.fromkeys(hosts, "127.0.0.1"), name


def test_triton_cpu_image_is_built_from_the_wheel_server(cpu: dict) -> None:
    triton = cpu["triton"]
    assert triton["build"]["dockerfile"] == "services/triton/Dockerfile.cpu"
    assert "exec tritonserver" in " ".join(triton["command"]), (
        "the CPU image has tritonserver on PATH, as NVIDIA's does"
    )
    text = TRITON_CPU_DOCKERFILE.read_text()
    # the launch recipe of `deepclean triton` (utils/triton/environment.py)
    assert "constraints-triton.txt" in text
    assert "python_backend_stubs/$version/triton_python_backend_stub" in text
    assert '"$tree/backends/python/"' in text
    assert "LD_LIBRARY_PATH=$libdir:$site/nvidia_pytriton.libs" in text
    assert "PATH=/opt/tritonserver/venv/bin:" in text
    assert re.search(r"^USER (?!root)\w+", text, re.M), "non-root user"
    assert re.search(r"^ARG BASE_IMAGE=\S+:\d", text, re.M), "pinned base image"


def test_env_example_names_the_cpu_triton_image(override: dict) -> None:
    text = ENV_EXAMPLE.read_text()
    default = re.search(
        r"\$\{TRITON_CPU_IMAGE:-([^}]+)\}", override["services"]["triton"]["image"]
    )[1]
    assert re.search(rf"^TRITON_CPU_IMAGE={re.escape(default)}$", text, re.M)


def test_observability_profile_adds_prometheus_in_both_files() -> None:
    """`--profile observability`: Prometheus over deploy/prometheus, restarted unless stopped,
    healthy when ready, in step between the two files; on the host network it reaches the
    services it scrapes by name."""
    gpu = yaml.safe_load(compose_config(COMPOSE, profile="observability").stdout)["services"]
    cpu = yaml.safe_load(compose_config(COMPOSE, CPU_OVERRIDE, profile="observability").stdout)[
        "services"
    ]
    assert "simulator" not in gpu and "prometheus" in gpu and "prometheus" in cpu
    prometheus = gpu["prometheus"]
    assert prometheus["restart"] == "unless-stopped"
    assert "/-/ready" in " ".join(prometheus["healthcheck"]["test"])
    assert prometheus["ports"] == ["127.0.0.1:9090:9090"]
    assert any(
        str(v).endswith("/deploy/prometheus:/etc/prometheus:ro")
        or (isinstance(v, dict) and v.get("target") == "/etc/prometheus")
        for v in prometheus["volumes"]
    )
    for key in ("volumes", "healthcheck", "restart", "profiles", "image"):
        assert cpu["prometheus"].get(key) == prometheus.get(key), key
    # the same command, listening on 127.0.0.1 on the host's network (the container's
    # interfaces on the compose network, published on 127.0.0.1 only)
    listen = "--web.listen-address=0.0.0.0:9090"
    assert listen in prometheus["command"]
    assert cpu["prometheus"]["command"] == [
        "--web.listen-address=127.0.0.1:9090" if arg == listen else arg
        for arg in prometheus["command"]
    ]
    for service in (prometheus, cpu["prometheus"]):
        assert service["security_opt"] == ["no-new-privileges:true"]
        assert service["cap_drop"] == ["ALL"]
    scraped = re.findall(r'"(\w+):\d+"', (ROOT / "deploy/prometheus/prometheus.yml").read_text())
    mapped = dict(entry.split(":", 1) for entry in cpu["prometheus"]["extra_hosts"])
    assert set(scraped) <= set(gpu) and all(mapped[h] == "127.0.0.1" for h in scraped)
