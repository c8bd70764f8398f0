"""Cleaned frames with exactly known ratios, a real HTTP stand-in for the exporter, and a
monitor running on a thread (shared by the monitor tests)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from deepclean.services.monitor.service import MonitorService
from deepclean.services.monitor.settings import MonitorSettings
from deepclean.utils.config import load_settings
from deepclean.utils.frames.gwf import Channel, write_frame
from deepclean.utils.frames.naming import FrameKind, frame_path
from deepclean.utils.products import CLEANED_RATE_HZ, FLAG_RATE_HZ, Flag, Product, StateBit

GPS = 1_400_000_000  # a multiple of 16 and 128
IFO = "H1"
GOOD = int(
    StateBit.INPUT_READY
    | StateBit.PRODUCTION_VALID
    | StateBit.CANARY_VALID
    | StateBit.OUT_DQ_CLEANED
    | StateBit.WITNESSES_PRESENT
    | StateBit.PRODUCTION_TRAINED
    | StateBit.CANARY_TRAINED
)
#: small, fast settings: 8 s segments with 2 s FFTs, a check every 8 s, 16 s archive spans
FAST = {
    "asd_segment_length": 8,
    "asd_fftlength": 2.0,
    "monitor_period": 8,
    "passes": 3,
    "failures": 3,
    "write_cadence": 16,
    "max_files": 20,
    "carousel_headroom": 2,
    "frame_timeout": 0.2,
    "exporter_retries": 2,
    "exporter_backoff": 0.05,
    "exporter_timeout": 2.0,
}


@dataclass
class Second:
    """What one synthetic cleaned second holds: production = p * raw, canary = c * raw, so the
    in-band ASD ratios are exactly p and c whatever the raw noise."""

    production_scale: float = 0.5
    canary_scale: float = 0.4
    production: int = 1
    canary: int = 2
    state: int = GOOD


def cleaned_channels(gps: int, second: Second, seed: int = 0) -> list[Channel]:
    rng = np.random.default_rng([seed, gps])
    n = int(CLEANED_RATE_HZ)
    raw = rng.standard_normal(n) * 1e-21 + 3e-21 * np.sin(
        2 * np.pi * 60.0 * (gps + np.arange(n) / n)
    )
    production = second.production_scale * raw
    flags = lambda value: np.full(int(FLAG_RATE_HZ), value, dtype=np.int32)  # noqa: E731
    return [
        Channel(Product.OUT_DQ.channel(IFO), production.copy(), CLEANED_RATE_HZ, gps),
        Channel(Product.PRODUCTION.channel(IFO), production, CLEANED_RATE_HZ, gps),
        Channel(Product.CANARY.channel(IFO), second.canary_scale * raw, CLEANED_RATE_HZ, gps),
        Channel(Product.RAW.channel(IFO), raw, CLEANED_RATE_HZ, gps),
        Channel(Flag.INPUT_STATE.channel(IFO), flags(3), FLAG_RATE_HZ, gps),
        Channel(Flag.STATE.channel(IFO), flags(second.state), FLAG_RATE_HZ, gps),
        Channel(Flag.PRODUCTION_VERSION.channel(IFO), flags(second.production), FLAG_RATE_HZ, gps),
        Channel(Flag.CANARY_VERSION.channel(IFO), flags(second.canary), FLAG_RATE_HZ, gps),
    ]


def write_cleaned(project: Path, gps: int, second: Second, seed: int = 0) -> Path:
    return write_frame(
        frame_path(project, FrameKind.CLEANED, IFO, gps), cleaned_channels(gps, second, seed)
    )


def version_entry(version: int, trained: bool = True, bands=((58.0, 62.0),)) -> dict:
    entry = {
        "version": version,
        "trained": trained,
        "span": {"start": GPS - 2048, "duration": 1024} if trained else None,
        "valid_loss": 0.3 if trained else None,
        "in_band_ratio": 0.4 if trained else None,
        "filter_bands": [[57.0, 63.0]],
        "model_dir": None,
        "verified": True,
    }
    if bands is not None:
        entry["bands"] = [list(b) for b in bands]
    return entry


class FakeExporter:
    """A real HTTP server answering ``GET /versions``, ``POST /promote`` and ``POST /rollback``
    like the exporter.

    ``statuses`` scripts the answers of the next requests (then 200); a successful promotion
    makes the canary production, as the exporter does; a rollback makes ``previous`` (the
    production before) production and canary. Records every request."""

    def __init__(self, production: dict, canary: dict, statuses=(), previous: dict | None = None):
        self.production, self.canary = production, canary
        self.previous = previous
        self.statuses = list(statuses)
        self.requests: list[tuple[str, str, dict, object]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                fake.requests.append(("GET", self.path, dict(self.headers), None))
                status = fake.statuses.pop(0) if fake.statuses else 200
                if status != 200:
                    return self._answer(status, {"error": "scripted failure"})
                self._answer(
                    200, {"production": fake.production, "canary": fake.canary, "others": []}
                )

            def do_POST(self):  # noqa: N802
                body = json.loads(
                    self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null"
                )
                fake.requests.append(("POST", self.path, dict(self.headers), body))
                status = fake.statuses.pop(0) if fake.statuses else 200
                if status != 200:
                    return self._answer(status, {"error": "scripted failure"})
                previous = fake.production
                if self.path == "/rollback":
                    if fake.previous is None:
                        return self._answer(409, {"error": "no production version before"})
                    fake.production = dict(fake.previous)
                    fake.canary, fake.previous = dict(fake.previous), None
                else:
                    fake.production = dict(fake.canary)
                self._answer(
                    200,
                    {
                        "production": fake.production["version"],
                        "canary": fake.canary["version"],
                        "previous": previous,
                    },
                )

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def promotions(self) -> list[tuple[dict, object]]:
        return [
            (headers, body)
            for method, path, headers, body in self.requests
            if method == "POST" and path == "/promote"
        ]

    def rollbacks(self) -> list[tuple[dict, object]]:
        return [
            (headers, body)
            for method, path, headers, body in self.requests
            if method == "POST" and path == "/rollback"
        ]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def settings(project: Path, exporter_url: str, **overrides) -> MonitorSettings:
    values = {
        **FAST,
        "project_dir": str(project),
        "data_dir": str(project / "data"),
        "ifo": IFO,
        "exporter_url": exporter_url,
        "triton_url": "127.0.0.1:1",
        **overrides,
    }
    return load_settings(MonitorSettings, values, environ={}, pyproject=None, env_file=None)


@dataclass
class Running:
    """A MonitorService on a thread, fed one frame at a time."""

    service: MonitorService
    project: Path
    thread: threading.Thread | None = None
    written: dict[int, list[Channel]] = field(default_factory=dict)
    max_files_seen: int = 0

    error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.service.run()
        except BaseException as exc:  # surfaced by settle()
            self.error = exc
            raise

    def __enter__(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.service.stop()
        self.thread.join(30)
        assert not self.thread.is_alive()

    def settle(self, gps: int, timeout: float = 20.0) -> None:
        """Wait until the monitor went through ``gps`` and finished every check it queued."""
        service = self.service
        alive = lambda: self.error is None or _raise(self.error)  # noqa: E731
        wait_for(
            lambda: alive() and service.processed is not None and service.processed >= gps,
            timeout,
            f"monitor to read {gps}",
        )
        wait_for(
            lambda: service.checks_done + service.checks_dropped >= service.checks_queued,
            timeout,
            f"checks up to GPS {gps}",
        )

    def feed(
        self,
        start: int,
        count: int,
        second: Second | None = None,
        *,
        seed: int = 0,
        skip=(),
        corrupt=(),
        timeout: float = 20.0,
    ) -> None:
        """Write seconds ``start..start+count-1`` (leaving out ``skip``, garbling ``corrupt``) one
        by one, waiting for the monitor to read each and, at period ends, for its check to
        finish."""
        for gps in range(start, start + count):
            if gps in skip:
                continue
            path = frame_path(self.project, FrameKind.CLEANED, IFO, gps)
            if gps in corrupt:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name("." + path.name + ".tmp")
                tmp.write_bytes(b"IGWD\0" + bytes(range(256)) * 40)
                tmp.replace(path)
            else:
                channels = cleaned_channels(gps, second or Second(), seed)
                write_frame(path, channels)
                self.written[gps] = channels
            self.max_files_seen = max(self.max_files_seen, len(list(path.parent.glob("*.gwf"))))
            self.settle(gps, timeout)
            self.max_files_seen = max(self.max_files_seen, len(list(path.parent.glob("*.gwf"))))


def _raise(exc: BaseException):
    raise AssertionError(f"the monitor loop died: {exc!r}") from exc


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            import faulthandler
            import sys

            faulthandler.dump_traceback(sys.stderr, all_threads=True)
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)
