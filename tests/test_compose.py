"""docker-compose.yml and its Dockerfiles agree with the code: a real compose implementation
(podman-compose, from the test extra) resolves the file with .env.example, every service runs
a real ``deepclean`` subcommand with options that exist, sets only known settings, mounts the
directories the settings default to, and publishes its ports on 127.0.0.1 only."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml
from dotenv import dotenv_values

from deepclean.services.cli import build_parser
from deepclean.utils.config import SharedSettings, given_flags, load_settings
from deepclean.utils.config.layers import _env_names
from deepclean.utils.training.settings import PROFILE_ENV, Profile

ROOT = Path(__file__).resolve().parents[1]
COMPOSE, CPU_OVERRIDE, ENV_EXAMPLE = (
    ROOT / "docker-compose.yml",
    ROOT / "docker-compose.cpu.yml",
    ROOT / ".env.example",
)
PODMAN_COMPOSE = Path(sys.executable).parent / "podman-compose"

#: deepclean subcommand -> its settings class (module, name)
SETTINGS = {
    "simulate": ("deepclean.services.simulate.settings", "SimulateSettings"),
    "triton": ("deepclean.services.triton.settings", "TritonSettings"),
    "exporter": ("deepclean.services.exporter.settings", "ExporterSettings"),
    "trainer": ("deepclean.services.trainer.settings", "TrainerSettings"),
    "cleaner": ("deepclean.services.cleaner.settings", "CleanerSettings"),
    "monitor": ("deepclean.services.monitor.settings", "MonitorSettings"),
    "up": ("deepclean.services.up.settings", "UpSettings"),
}
#: variables the services read that are not settings, and why
NOT_SETTINGS = {
    "DEEPCLEAN_TOKEN": "bearer token of state-changing HTTP requests, read by the services "
    "directly",
    PROFILE_ENV: "the training/inference profile (--profile)",
    "DEEPCLEAN_ENV_FILE": "the .env file the settings (and compose's env_file) read",
}
#: variables only docker-compose.yml itself uses (image names, user, host paths)
COMPOSE_ONLY = {
    "TRITON_RELEASE",
    "TRITON_CPU_IMAGE",
    "PROMETHEUS_RELEASE",
    "DEEPCLEAN_IMAGE_PREFIX",
    "DEEPCLEAN_IMAGE_TAG",
    "DEEPCLEAN_UID",
    "DEEPCLEAN_GID",
}
PIPELINE = ["exporter", "trainer", "cleaner", "monitor"]
TEST_TOKEN = "compose-test-token-0123456789"
#: the variable that sets each server's bind address inside its container
BIND = {
    "triton": "TRITON_BIND_ADDRESS",
    "exporter": "DEEPCLEAN_EXPORTER_HOST",
    "cleaner": "DEEPCLEAN_CLEANER_HOST",
    "monitor": "DEEPCLEAN_MONITOR_HOST",
}
GPU_SERVICES = {"triton", "exporter", "trainer"}


def settings_class(command: str) -> type[SharedSettings]:
    module, name = SETTINGS[command]
    return getattr(importlib.import_module(module), name)


def compose_config(
    *files: Path,
    env_file: Path = ENV_EXAMPLE,
    profile: str | None = "demo",
    environ: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    args = [str(PODMAN_COMPOSE), "--dry-run", "--env-file", str(env_file)]
    for path in files:
        args += ["-f", str(path)]
    if profile:
        args += ["--profile", profile]
    env = (
        {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "DEEPCLEAN_TOKEN": TEST_TOKEN,  # required; .env.example leaves it for the user to set
        }
        if environ is None
        else environ
    )
    return subprocess.run(
        [*args, "config"], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env
    )


@pytest.fixture(scope="module")
def config() -> dict:
    result = compose_config(COMPOSE)
    assert result.returncode == 0, result.stderr[-3000:]
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="module")
def parser():
    return build_parser()[0]


def test_compose_resolves_with_the_example_env(config: dict) -> None:
    assert set(config["services"]) == {"triton", *PIPELINE, "simulator"}
    without_demo = compose_config(COMPOSE, profile=None)
    assert without_demo.returncode == 0, without_demo.stderr[-3000:]
    assert "simulator" not in yaml.safe_load(without_demo.stdout)["services"]


# the CPU override (docker-compose.cpu.yml): tests/test_compose_cpu.py


@pytest.mark.parametrize("missing", ["DATA_DIR", "PROJECT_DIR", "IFO"])
def test_required_variables_stop_compose_with_their_message(tmp_path: Path, missing: str) -> None:
    values = {k: v for k, v in dotenv_values(ENV_EXAMPLE).items() if k != missing and v is not None}
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    result = compose_config(COMPOSE, env_file=env_file)
    assert result.returncode != 0
    assert f"set {missing}" in result.stderr


def test_compose_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    """.env.example leaves DEEPCLEAN_TOKEN empty: compose stops until the user sets one."""
    assert dotenv_values(ENV_EXAMPLE)["DEEPCLEAN_TOKEN"] == ""
    environ = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    result = compose_config(COMPOSE, environ=environ)
    assert result.returncode != 0
    assert "set DEEPCLEAN_TOKEN in .env" in result.stderr
    env_file = tmp_path / ".env"
    env_file.write_text(ENV_EXAMPLE.read_text() + f"DEEPCLEAN_TOKEN={TEST_TOKEN}\n")
    result = compose_config(COMPOSE, env_file=env_file, environ=environ)
    assert result.returncode == 0, result.stderr[-3000:]
    services = yaml.safe_load(result.stdout)["services"]
    for name in [*PIPELINE, "simulator"]:
        assert services[name]["environment"]["DEEPCLEAN_TOKEN"] == TEST_TOKEN, name


def test_containers_cannot_gain_privileges(config: dict) -> None:
    for name, service in config["services"].items():
        assert service.get("security_opt") == ["no-new-privileges:true"], name
        assert service.get("cap_drop") == ["ALL"], name
        assert "cap_add" not in service and not service.get("privileged"), name


def _command(service: dict) -> list[str]:
    command = service["command"]
    return command.split() if isinstance(command, str) else [str(c) for c in command]


@pytest.mark.parametrize("name", [*PIPELINE, "simulator"])
def test_service_command_is_a_real_subcommand_with_known_settings(
    config: dict, parser, name: str
) -> None:
    service = config["services"][name]
    command = _command(service)
    assert command[0] == "deepclean"
    args = parser.parse_args(command[1:])  # exits (fails) on an unknown subcommand or option
    cls = settings_class(args.command)
    environment = {k: str(v) for k, v in service.get("environment", {}).items()}
    known = {env for field in cls.model_fields for env in _env_names(cls, field)}
    unknown = set(environment) - known - set(NOT_SETTINGS)
    assert not unknown, (
        f"{name} sets variables that are no setting of {cls.__name__}: {sorted(unknown)}"
    )
    if PROFILE_ENV in environment:
        Profile(environment[PROFILE_ENV])
    # the settings the container will build from its command line and environment validate
    load_settings(cls, given_flags(args, cls), environ=environment, env_file=None)


@pytest.mark.parametrize("name", [*PIPELINE, "simulator"])
def test_volumes_are_the_directories_the_command_names(config: dict, parser, name: str) -> None:
    service = config["services"][name]
    args = parser.parse_args(_command(service)[1:])
    cls = settings_class(args.command)
    workdir = PurePosixPath(service["working_dir"])
    mounts = {}
    for volume in service["volumes"]:
        source, target, *mode = volume.split(":")
        mounts[target] = mode[0] if mode else "rw"
    # the flags name the mounts (.env, which reaches the container, holds host paths), and the
    # mounts are the settings' defaults too (a `docker run` without the flags works the same)
    data = str(workdir / PurePosixPath(cls.model_fields["data_dir"].default))
    assert args.data_dir is not None and str(args.data_dir) == data
    if name == "simulator":
        assert mounts == {data: "rw"}
    else:
        project = str(workdir / PurePosixPath(cls.model_fields["project_dir"].default))
        assert args.project_dir is not None and str(args.project_dir) == project
        assert mounts == {data: "ro", project: "rw"}, f"{name}: data read-only, project read-write"
    assert service["env_file"] == [".env"], "every setting of .env reaches the service"


def test_triton_serves_the_project_model_repository(config: dict) -> None:
    triton = config["services"]["triton"]
    (target,) = [v.split(":")[1] for v in triton["volumes"]]
    command = _command(triton)
    assert f"--model-repository={target}/model_repo" in command
    assert "--model-control-mode=explicit" in command
    # a first start creates the repository, as the user the exporter writes it with
    assert (
        command[:2] == ["sh", "-c"]
        and f"mkdir -p {target}/model_repo && exec tritonserver" in command[2]
    )
    assert triton["user"] == config["services"]["exporter"]["user"]
    assert "/v2/health/ready" in " ".join(triton["healthcheck"]["test"])
    assert re.fullmatch(r"nvcr\.io/nvidia/tritonserver:\d\d\.\d\d-py3", triton["image"])


def test_ports_dependencies_gpus_and_health(config: dict, parser) -> None:
    services = config["services"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond 127.0.0.1"
        assert "healthcheck" in service, name
        assert service.get("restart") == "unless-stopped", name
        assert ("deploy" in service) == (name in GPU_SERVICES), name
        for dependency in service.get("depends_on", {}).values():
            assert dependency["condition"] == "service_healthy"
    for name in PIPELINE:
        args = parser.parse_args(_command(services[name])[1:])
        port = getattr(args, "port", None) or getattr(args, "metrics_port", None)
        if port is None:  # the trainer serves nothing: its heartbeat file's age is judged
            test = services[name]["healthcheck"]["test"]
            max_age = float(test[test.index("--max-age") + 1])
            heartbeat = test[test.index("--file") + 1]
            ifo = config["services"][name]["environment"]["IFO"]
            from deepclean.services.trainer.service import heartbeat_path

            assert heartbeat == str(heartbeat_path(Path("/deepclean/project"), ifo)), heartbeat
            assert 0 < max_age <= 600
            continue
        assert [f"127.0.0.1:{port}:{port}"] == services[name]["ports"]
        assert f"http://127.0.0.1:{port}/health" in services[name]["healthcheck"]["test"]
        # the container's interfaces, reachable through the port published on 127.0.0.1 only
        assert not hasattr(args, "host") and services[name]["environment"][BIND[name]] == "0.0.0.0"


def test_env_example_lists_every_variable(config: dict) -> None:
    example = dotenv_values(ENV_EXAMPLE)
    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text() + CPU_OVERRIDE.read_text()))
    assert used <= set(example), f"not in .env.example: {sorted(used - set(example))}"
    shared = {name.upper() for name in SharedSettings.model_fields}
    commented = set(re.findall(r"^# ?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))
    for variable in set(example) | commented:
        if variable in shared or variable in NOT_SETTINGS or variable in COMPOSE_ONLY:
            continue
        match = re.fullmatch(r"DEEPCLEAN_([A-Z]+)_(\w+)", variable)
        assert match, f"{variable} in .env.example is not a setting"
        cls = settings_class(match[1].lower())
        assert variable in {env for f in cls.model_fields for env in _env_names(cls, f)}, variable
    # the example's values are valid settings for every service
    for command in SETTINGS:
        cls = settings_class(command)
        environ = {k: v for k, v in example.items() if v is not None}
        load_settings(cls, environ=environ, env_file=None)


@pytest.mark.parametrize("name", PIPELINE)
def test_dockerfiles(config: dict, name: str) -> None:
    """One Dockerfile, a target per service on a shared runtime stage."""
    text = (ROOT / "Dockerfile").read_text()
    assert config["services"][name]["build"]["dockerfile"] == "Dockerfile"
    assert config["services"][name]["build"]["target"] == name
    base = re.search(r"^ARG BASE_IMAGE=(\S+)$", text, re.M)
    assert base and re.search(r":\d", base[1]) and "latest" not in base[1], "pinned base image"
    assert len(re.findall(r"^FROM \$\{BASE_IMAGE\}", text, re.M)) == 2, "multi-stage"
    target = text[text.index(f"FROM runtime AS {name}\n") :].split("\nFROM ")[0]
    assert re.search(r"^USER (?!root)\w+", target, re.M), "non-root user"
    assert "PYTHONUNBUFFERED=1" in text
    assert text.index("-r requirements.txt") < text.index("COPY utils"), (
        "dependencies before the source"
    )
    assert re.search(rf"^WORKDIR {config['services'][name]['working_dir']}$", text, re.M)
    torch_free = name in ("cleaner", "monitor")
    assert ("COPY --from=build-light " in target) == torch_free, "cleaner and monitor: no torch"
