"""``deepclean exporter``: the model-management service over the live Triton model repository."""

from __future__ import annotations

import argparse
import logging
import threading
import time

from deepclean.services.cli import leading_flags, settings_command
from deepclean.services.exporter.settings import ExporterSettings

DESCRIPTION = """\
Serve the DeepClean model repository ($PROJECT_DIR/model_repo) over HTTP (127.0.0.1:5000):
exports of training runs as new DeepClean versions loaded as the canary, promotions while
streams run, and the versions served. Triton runs separately (deepclean triton, explicit
model control); the exporter waits for it, builds an empty repository (an untrained
version 1 that predicts zero), loads what the ensemble config on disk pins, and exports the
newest run under $PROJECT_DIR/train if it is not exported yet.

routes: GET /health, /ready, /versions, /jobs/<id>, /metrics; POST /models {"model_dir": D},
POST /promote {"version": N} (N: the canary), POST /rollback {"production": N} (N: production).
POSTs need 'Authorization: Bearer <token>' (DEEPCLEAN_TOKEN from the environment or ./.env)
and Content-Type: application/json; without a token every POST is refused unless
--insecure-no-token. Exports, promotions and rollbacks go to $PROJECT_DIR/audit.jsonl.
The inference geometry comes from --profile (cpu here; on a GPU node production with
--platform onnxruntime_onnx or tensorrt_plan).

example: deepclean exporter --project-dir P --data-dir D --ifo H1 --channels D/channels.txt \\
    --triton-url 127.0.0.1:8001 --port 5000 --profile cpu
"""

HELP = "serve the model repository: exports, promotions"

logger = logging.getLogger(__name__)


add_parser = settings_command(
    "exporter", ExporterSettings, HELP, DESCRIPTION, first=leading_flags(profile=True)
)


def wait_for_triton(url: str, timeout: float, stop: threading.Event | None = None) -> bool:
    """True when Triton at ``url`` is live, False if ``stop`` was set first; ServerUnavailableError
    after ``timeout`` s (one log line per retry)."""
    from tritonclient.grpc import InferenceServerClient

    from deepclean.utils.errors import ServerUnavailableError

    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        attempt += 1
        try:
            client = InferenceServerClient(url)
            try:
                if client.is_server_live(client_timeout=2):
                    logger.info("Triton at %s is live", url)
                    return True
                problem = "not live yet"
            finally:
                client.close()
        except Exception as exc:  # noqa: BLE001 - any failure: not there yet
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if stop is not None and stop.is_set():
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise ServerUnavailableError(
                f"Triton at {url} did not answer within {timeout:g} s ({problem}); "
                "start it with deepclean triton or set --triton-url"
            )
        logger.info(
            "waiting for Triton at %s (attempt %d, %.0f s left): %s", url, attempt, left, problem
        )
        if stop is not None:
            stop.wait(min(2.0, left))
        else:
            time.sleep(min(2.0, left))


def load(args: argparse.Namespace):
    """The settings (profile, then IFO from the channel names unless given) and the channel list."""
    from deepclean.services.exporter.channels import settings_with_channel_ifo
    from deepclean.utils.channels import parse_channels
    from deepclean.utils.config import given_flags
    from deepclean.utils.training.settings import load_profiled_settings

    settings, profile = load_profiled_settings(ExporterSettings, args)
    if not settings.channels:
        settings = settings.model_copy(
            update={"channels": [str(settings.data_dir / "channels.txt")]}
        )
    settings = settings_with_channel_ifo(
        settings, given_flags(args, ExporterSettings), settings.channels
    )
    return settings, profile, parse_channels(settings.channels, settings.ifo)


def run(args: argparse.Namespace) -> int:
    from deepclean.services.exporter.access import Access
    from deepclean.utils.auth import read_token
    from deepclean.utils.locks import ServiceLock, repository_lock_path
    from deepclean.utils.logs import configure_logging
    from deepclean.utils.signals import stop_on_signals

    settings, profile, channels = load(args)
    configure_logging("exporter", settings.log_level)
    access = Access(read_token(), settings.insecure_no_token)
    access.announce(f"{settings.host}:{settings.port}")  # at every start, before anything fails
    lock = ServiceLock(  # one exporter per model repository
        repository_lock_path(settings.repository), f"exporter of {settings.repository}"
    ).acquire()
    for name in ("torch.onnx", "onnx_ir", "onnxscript"):
        logging.getLogger(name).setLevel(logging.ERROR)
    stop = threading.Event()
    try:
        with stop_on_signals(lambda _: stop.set()):
            return _serve(settings, profile, channels, stop, access.token)
    finally:
        lock.release()


def _serve(settings, profile, channels, stop: threading.Event, token: str | None) -> int:
    """Wait for Triton, bootstrap the repository, serve HTTP until ``stop`` is set."""
    from deepclean.services.exporter.app import Exporter, create_app
    from deepclean.services.exporter.repository import ModelStore
    from deepclean.utils.http_server import HttpServer

    logger.info(
        "profile %s; repository %s; %s, %d witnesses, platform %s",
        profile,
        settings.repository,
        settings.ifo,
        len(channels.witnesses),
        settings.platform.value,
    )
    if not wait_for_triton(settings.triton_url, settings.triton_timeout, stop):
        logger.info("stopped before Triton answered")
        return 0
    store = ModelStore(settings, channels, url=settings.triton_url)
    store.bootstrap()  # not interrupted: a signal meanwhile stops the service right after it
    if stop.is_set():
        logger.info("stopped after start-up")
        return 0
    exporter = Exporter(settings, store)
    app = create_app(settings, store, exporter=exporter, token=token or "")
    exporter.submit_newest()  # queued before the API answers: /jobs/1 exists from the start
    server = HttpServer(
        app,
        settings.host,
        settings.port,
        threads=settings.threads,
        max_body_bytes=settings.max_body_bytes,
        name="deepclean-exporter",
    ).start()
    stop.wait()
    logger.info("stopping: closing HTTP, letting a running export finish")
    server.stop()
    exporter.jobs.stop()
    logger.info("stopped")
    return 0
