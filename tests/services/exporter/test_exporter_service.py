"""``deepclean exporter`` (a subprocess, real HTTP through waitress) against a real Triton server.

One story, in order: an empty repository serves an untrained version 1 (exactly zero noise);
a trained run posted becomes the canary; promoting it while a gRPC stream runs switches
production between two updates with no update lost or repeated; a restart serves the same
versions and exports nothing (the stream goes on across it); a restart with a newer run exports
it as the canary; rollback; restarts after a promotion interrupted at either step. (Triton never
coming up: test_exporter_cli.py.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from tritonclient.grpc import InferenceServerClient

from deepclean.utils.audit import latest_audit
from deepclean.utils.export import ModelRepository
from deepclean.utils.export.config import specific_versions
from deepclean.utils.products import VERSION_INFO
from deepclean.utils.triton.client import StreamClient
from deepclean.utils.triton.names import DEEPCLEAN, ENSEMBLE, Role
from deepclean.utils.triton.server import free_port, start_on_free_ports
from deepclean.utils.triton.versions import read_versions, served_versions

from .exporter_helpers import http, install_run, train_runs, tree, wait_job

pytestmark = pytest.mark.slow

TOKEN = "service-token"
FIGURES: dict[str, float] = {}


class ExporterProcess:
    """``deepclean exporter`` as a child process on a free port."""

    def __init__(self, root: Path, triton_url: str, *extra: str) -> None:
        self.root, self.triton_url, self.extra = root, triton_url, extra
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.count = 0
        self.process: subprocess.Popen | None = None
        self.log: Path | None = None

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "deepclean.services.cli",
            "exporter",
            "--profile",
            "cpu",
            "--project-dir",
            str(self.root / "project"),
            "--data-dir",
            str(self.root / "data"),
            "--triton-url",
            self.triton_url,
            "--port",
            str(self.port),
            *self.extra,
        ]

    def start(self, timeout: float = 120.0) -> ExporterProcess:
        self.count += 1
        self.log = self.root / f"exporter-{self.count}.log"
        env = {
            **os.environ,
            "DEEPCLEAN_TOKEN": TOKEN,
            "DEEPCLEAN_ENV_FILE": str(self.root / "none.env"),
        }
        for name in ("IFO", "DEEPCLEAN_EXPORTER_IFO", "DEEPCLEAN_PROFILE"):
            env.pop(name, None)
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "w"),  # noqa: SIM115
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            status, _ = (
                http("GET", f"{self.base}/ready", timeout=5) if self._listening() else (None, None)
            )
            if status == 200:
                return self
            time.sleep(0.3)
        raise AssertionError(f"exporter not ready within {timeout} s:\n{self.log.read_text()}")

    def _listening(self) -> bool:
        import socket

        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)

    def get(self, path: str):
        return http("GET", f"{self.base}{path}")

    def post(self, path: str, body=None, token: str | None = TOKEN):
        return http("POST", f"{self.base}{path}", body if body is not None else {}, token=token)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("service")
    (root / "none.env").write_text("")  # an empty .env: nothing from the developer's own
    runs = train_runs(root, ("a", "b"))
    repo = root / "project" / "model_repo"
    repo.mkdir(parents=True)
    triton = start_on_free_ports(repo, log_path=root / "triton.log")
    exporter = ExporterProcess(root, triton.grpc_url)
    try:
        yield {"root": root, "runs": runs, "repo": repo, "triton": triton, "exporter": exporter}
    finally:
        if exporter.process is not None and exporter.process.poll() is None:
            exporter.stop()
        triton.stop()
        print("\nexporter figures:", {k: round(v, 2) for k, v in FIGURES.items()})


def _client(world) -> InferenceServerClient:
    return InferenceServerClient(world["triton"].grpc_url)


def _served(world) -> dict[Role, int]:
    client = _client(world)
    try:
        return served_versions(client)
    finally:
        client.close()


def _served_info(world) -> dict:
    import json

    client = _client(world)
    try:
        config = client.get_model_config(DEEPCLEAN, as_json=True)["config"]
    finally:
        client.close()
    return json.loads(config["parameters"][VERSION_INFO]["string_value"])


def _update(rng) -> np.ndarray:
    return rng.standard_normal((2, 1024)).astype(
        np.float32
    )  # cpu profile: 8 windows of 128 samples per update


class Stream:
    """One sequence streamed one update at a time on a thread, until stopped."""

    def __init__(self, world, sequence_id: int) -> None:
        self.client = StreamClient(world["triton"].grpc_url).__enter__()
        self.sequence_id = sequence_id
        self.rng = np.random.default_rng(sequence_id)
        self.results: list = []
        self.marks: dict[str, int] = {}
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                first = not self.results
                self.results.append(
                    self.client.infer(self.sequence_id, _update(self.rng), start=first)
                )
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            self.error = exc

    def start(self) -> Stream:
        self._thread.start()
        return self

    def wait_for(self, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.results) < count and self.error is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.error is None, self.error
        assert len(self.results) >= count, f"{len(self.results)} updates after {timeout} s"

    def mark(self, name: str) -> None:
        self.marks[name] = len(self.results)

    def stop(self) -> list:
        self._stop.set()
        self._thread.join(60)
        if (
            self.error is None
        ):  # end the sequence: the streaming models serve one at a time (streams_per_gpu 1)
            self.results.append(self.client.infer(self.sequence_id, _update(self.rng), end=True))
        self.client.close()
        assert self.error is None, self.error
        assert [r.index for r in self.results] == list(
            range(len(self.results))
        )  # none lost, none repeated
        return self.results


def test_empty_repository_serves_untrained(world) -> None:
    ex = world["exporter"].start()
    status, versions = ex.get("/versions")
    assert status == 200
    assert (
        versions["production"]["version"] == versions["canary"]["version"] == 1
        and versions["others"] == []
    )
    assert versions["production"]["trained"] is False and versions["production"][
        "filter_bands"
    ] == [[57.0, 63.0]]
    assert _served(world) == {Role.PRODUCTION: 1, Role.CANARY: 1}
    assert _served_info(world)["1"]["trained"] is False
    stream = Stream(world, 1).start()
    stream.wait_for(6)
    results = stream.stop()
    for r in results:
        assert np.all(r.outputs["noise_production"] == 0) and np.all(r.outputs["noise_canary"] == 0)
    assert ex.get("/health") == (200, {"status": "ok"})


def test_post_run_becomes_canary(world) -> None:
    ex = world["exporter"]
    run = install_run(world["runs"]["a"], world["root"] / "project")
    assert ex.post("/models", {"model_dir": str(run)}, token=None)[0] == 401
    started = time.perf_counter()
    status, job = ex.post("/models", {"model_dir": str(run), "ifo": "H1"})
    assert status == 202 and job["url"] == f"/jobs/{job['job']}"
    asked = time.perf_counter()
    status, versions = ex.get("/versions")  # answers while the export runs
    assert status == 200 and time.perf_counter() - asked < 2 and versions["canary"]["version"] == 1
    done = wait_job(ex.base, job["job"])
    FIGURES["post_to_canary_serving_s"] = time.perf_counter() - started
    assert done["status"] == "done" and done["version"] == 2, done
    assert _served(world) == {Role.PRODUCTION: 1, Role.CANARY: 2}
    _, versions = ex.get("/versions")
    assert versions["canary"]["version"] == 2 and versions["canary"]["trained"] is True
    assert versions["canary"]["model_dir"] == str(run) and versions["canary"]["span"] == {
        "start": 1400000000,
        "duration": 32,
    }
    assert _served_info(world)["2"]["model_dir"] == str(run)
    status, again = ex.post("/models", {"model_dir": str(run)})
    assert status == 200 and again["job"] == job["job"] and again["version"] == 2


def test_promote_while_streaming(world) -> None:
    ex = world["exporter"]
    stream = Stream(world, 2).start()
    stream.wait_for(8)
    stream.mark("before")
    started = time.perf_counter()
    status, body = ex.post("/promote", {"version": 2})
    FIGURES["promotion_s"] = time.perf_counter() - started
    stream.mark("after")
    assert status == 200, body
    assert (
        body["production"] == 2
        and body["canary"] == 2
        and body["previous"] == {"production": 1, "canary": 2}
    )
    stream.wait_for(stream.marks["after"] + 8)
    results = stream.stop()
    assert all(
        np.all(r.outputs["noise_production"] == 0) for r in results[: stream.marks["before"]]
    )
    assert any(np.any(r.outputs["noise_production"] != 0) for r in results[stream.marks["after"] :])
    assert all(np.any(r.outputs["noise_canary"] != 0) for r in results[4:])
    assert _served(world) == {Role.PRODUCTION: 2, Role.CANARY: 2}
    client = _client(world)
    assert not client.is_model_ready(DEEPCLEAN, "1") and client.is_model_ready(DEEPCLEAN, "2")
    client.close()
    _, metrics = ex.get("/metrics")
    assert (
        "deepclean_exporter_production_version 2.0" in metrics
        and "deepclean_exporter_promotions_total 1.0" in metrics
    )


def test_restart_serves_the_same(world) -> None:
    ex = world["exporter"]
    stream = Stream(world, 3).start()
    stream.wait_for(4)
    before_versions, before_tree = ex.get("/versions")[1], tree(world["repo"])
    assert ex.stop() == 0
    assert "stopped" in ex.log.read_text().splitlines()[-1]
    ex.start()
    stream.wait_for(
        len(stream.results) + 6
    )  # the snapshotter and aggregators were not reloaded under it
    stream.stop()
    log = ex.log.read_text()
    assert "exporting" not in log and "loading" not in log, log
    assert ex.get("/versions")[1] == before_versions and tree(world["repo"]) == before_tree
    assert _served(world) == {Role.PRODUCTION: 2, Role.CANARY: 2}
    status, job = ex.post("/models", {"model_dir": before_versions["production"]["model_dir"]})
    assert status == 200 and job["status"] == "done" and job["version"] == 2  # not exported again


def test_restart_exports_newest_run(world) -> None:
    ex = world["exporter"]
    assert ex.stop() == 0
    run = install_run(world["runs"]["b"], world["root"] / "project")
    ex.start()
    job = wait_job(ex.base, 1)
    assert job["status"] == "done" and job["version"] == 3 and job["model_dir"] == str(run)
    assert _served(world) == {Role.PRODUCTION: 2, Role.CANARY: 3}


def test_rollback(world) -> None:
    ex = world["exporter"]
    assert ex.post("/promote", {"version": 3})[1]["production"] == 3
    status, body = ex.post("/rollback", {"production": 3, "by": "cli", "evidence": {"why": "t"}})
    assert status == 200 and body == {
        "production": 2,
        "canary": 2,
        "seconds": body["seconds"],
        "previous": {"production": 3, "canary": 3},
    }
    assert _served(world) == {
        Role.PRODUCTION: 2,
        Role.CANARY: 2,
    }  # version 3 retired from the canary slot
    status, body = ex.post("/rollback", {"production": 2})  # production before 2: placeholder
    assert status == 409 and "untrained placeholder" in body["error"]
    last = latest_audit(world["root"] / "project", 3)
    assert [(e.action, e.who, e.versions) for e in last] == [
        ("rollback", "cli", {"from": 3, "to": 2}),
        ("promote", "request", {"from": 2, "to": 3}),
        ("export", "exporter", {"version": 3}),
    ]
    assert last[0].evidence["why"] == "t" and last[0].ifo == "H1"


def test_interrupted_promotion_is_finished_or_undone(world) -> None:
    ex, repo = world["exporter"], world["repo"]
    assert ex.stop() == 0
    # after test_rollback the ensemble pins production 2, canary 2
    # crashed after widening DeepClean's policy: the ensemble on disk still pins 2/2 -> narrowed
    # again
    dc = ModelRepository(repo)[DEEPCLEAN]
    dc.keep_versions([1, 2, 3])
    dc.write_config()
    client = _client(world)
    client.load_model(DEEPCLEAN)
    assert client.is_model_ready(DEEPCLEAN, "1")
    ex.start()
    assert specific_versions(ModelRepository(repo)[DEEPCLEAN].config) == [2]
    assert not client.is_model_ready(DEEPCLEAN, "1") and _served(world) == {
        Role.PRODUCTION: 2,
        Role.CANARY: 2,
    }

    # crashed after widening the policy to 2, 3 and writing the ensemble config (production 3),
    # before loading it -> finished

    assert ex.stop() == 0
    dc = ModelRepository(repo)[DEEPCLEAN]
    dc.keep_versions([2, 3])
    dc.write_config()
    ens = ModelRepository(repo)[ENSEMBLE]
    for step in ens.config.ensemble_scheduling.step:
        if step.model_name == DEEPCLEAN and "production" in next(iter(step.output_map.values())):
            step.model_version = 3
    ens.write_config()
    stream = Stream(world, 4).start()
    stream.wait_for(4)
    ex.start()
    stream.wait_for(len(stream.results) + 4)
    stream.stop()
    assert read_versions(repo) == {Role.PRODUCTION: 3, Role.CANARY: 2} == _served(world)
    assert specific_versions(ModelRepository(repo)[DEEPCLEAN].config) == [2, 3]
    assert ex.get("/versions")[1]["production"]["version"] == 3
    client.close()
