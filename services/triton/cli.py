"""``deepclean triton``: serve a model repository with a real Triton server until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal

from deepclean.services.cli import settings_command
from deepclean.services.triton.settings import TritonSettings

DESCRIPTION = """\
Start the Triton Inference Server shipped in the nvidia-pytriton wheel (its own venv, made by
./run.sh setup) over a model repository: HTTP, gRPC and metrics bound to 127.0.0.1, explicit
model control, every model of the repository loaded at start. Runs in the foreground; SIGINT
or SIGTERM stops the server cleanly. Models are (re)loaded later through the gRPC/HTTP
repository API (the exporter does this).

example: deepclean triton --model-repository ./project/model_repo --grpc-port 8001 --http-port 8000
"""

#: shared settings that mean nothing to the server
_UNUSED = {"ifo", "sample_rate", "freq_low", "freq_high", "data_dir"}


HELP = "run a real Triton Inference Server over a model repository"
add_parser = settings_command("triton", TritonSettings, HELP, DESCRIPTION, _UNUSED)


class _Stop(Exception):
    """Raised in the main thread by SIGINT or SIGTERM."""


def _raise_stop(signum: int) -> None:
    raise _Stop(signal.Signals(signum).name)


def run(args: argparse.Namespace) -> int:
    from deepclean.utils.config import given_flags, load_settings
    from deepclean.utils.errors import ConfigError, ServerUnavailableError
    from deepclean.utils.logs import configure_logging
    from deepclean.utils.signals import stop_on_signals
    from deepclean.utils.triton.server import TritonServer

    settings = load_settings(TritonSettings, given_flags(args, TritonSettings))
    logger = configure_logging("triton", settings.log_level)
    repository = settings.repository
    if not repository.is_dir():
        source = (
            "--model-repository"
            if settings.model_repository is not None
            else "<project_dir>/model_repo"
        )
        raise ConfigError(
            f"setting model_repository = {str(repository)!r} (from {source}): no such directory"
        )
    server = TritonServer(
        repository,
        grpc_port=settings.grpc_port,
        http_port=settings.http_port,
        metrics_port=settings.metrics_port or None,
        venv=settings.venv,
        startup_timeout=settings.startup_timeout,
    )
    # both signals explicitly (stop_on_signals): a process started in the background by a shell
    # inherits SIGINT ignored, and Python then never raises KeyboardInterrupt
    with stop_on_signals(_raise_stop):
        try:
            server.start()
            logger.info("serving %s; stop with SIGINT or SIGTERM", repository)
            status = server.wait()
            raise ServerUnavailableError(f"tritonserver exited on its own with status {status}")
        except (_Stop, KeyboardInterrupt) as exc:
            logger.info("%s received; stopping Triton", str(exc) or "SIGINT")
            return 0
        finally:
            server.stop()
