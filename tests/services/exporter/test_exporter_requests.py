"""The exporter app without a Triton server (configs only): bad requests, each answered with the
right status and one clear message and leaving the repository, the versions and the jobs as they
were; duplicate and concurrent exports, promotion, rollback and retention on disk.

Most requests go through Flask's test client; the last test sends some through waitress (real
HTTP). The served path (a real Triton) is test_exporter_service.py's.
"""

from __future__ import annotations

import datetime
import json
import re
import shutil
import threading
from pathlib import Path

import pytest
import torch

from deepclean.services.exporter.app import Exporter, create_app
from deepclean.services.exporter.repository import ModelStore
from deepclean.utils.audit import read_audit
from deepclean.utils.channels import parse_channels
from deepclean.utils.export import ModelRepository
from deepclean.utils.http_server import HttpServer
from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.products import parse_version_info
from deepclean.utils.triton.versions import read_versions

from .exporter_helpers import http, install_run, settings, train_runs, tree

pytestmark = pytest.mark.slow  # tiny training runs and real exports (about 40 s)

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("exporter")
    runs = train_runs(root, ("a", "b", "c"))
    project, data = root / "project", root / "data"
    installed = {name: install_run(run, project) for name, run in runs.items()}
    s = settings(project, data, keep_versions=3)
    store = ModelStore(s, parse_channels(s.channels, s.ifo), url=None)
    store.bootstrap()
    exporter = Exporter(s, store)
    app = create_app(s, store, exporter=exporter, token=TOKEN)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {TOKEN}"  # every request of this client
    reply = client.post("/models", json={"model_dir": str(installed["a"])})
    assert reply.status_code == 202, reply.json
    job = _wait(client, reply.json["job"])
    assert job["status"] == "done" and job["version"] == 2, job
    bad = _bad_runs(root, project, installed["a"])
    return {
        "root": root,
        "project": project,
        "runs": runs,
        "installed": installed,
        "settings": s,
        "store": store,
        "exporter": exporter,
        "app": app,
        "client": client,
        "bad": bad,
    }


def _wait(client, job_id, timeout=120.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/jobs/{job_id}").json
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def _bad_runs(root: Path, project: Path, good: Path) -> dict[str, Path]:
    """Run directories under project/train (and outside it) that must be refused."""
    train = project / "train"
    out = {}

    def copy(name: str) -> Path:
        folder = train / f"bad-{name}"
        shutil.copytree(good, folder)
        out[name] = folder
        return folder

    def edit_state(name: str, edit) -> None:
        folder = copy(name)
        state = torch.load(folder / "weights.pt", weights_only=True)
        edit(state)
        torch.save(state, folder / "weights.pt")

    edit_state(
        "nan", lambda s: s["network.output_conv.weight"].view(-1).__setitem__(0, float("nan"))
    )
    edit_state("inf", lambda s: s["witness_scaler.std"].view(-1).__setitem__(0, float("inf")))
    (copy("garbage") / "weights.pt").write_bytes(b"not a torch file")
    torch.save({"when": datetime.datetime(2020, 1, 1)}, copy("pickle") / "weights.pt")
    (copy("nometa") / "metadata.json").unlink()
    (copy("noweights") / "weights.pt").unlink()
    (copy("badmeta") / "metadata.json").write_text("{not json")
    torch.save(DeepCleanModel(3).state_dict(), copy("witnesses") / "weights.pt")
    for name, edit in {
        "channels": lambda m: m.update(channels=[*m["channels"], "H1:PEM-EXTRA_DQ"]),
        "l1": lambda m: m.update(ifo="L1"),
        "rate": lambda m: m.update(sample_rate=2048.0),
    }.items():
        folder = copy(name)
        meta = json.loads((folder / "metadata.json").read_text())
        edit(meta)
        (folder / "metadata.json").write_text(json.dumps(meta))
    (train / "a-file").write_text("not a run\n")
    out["file"] = train / "a-file"
    outside = root / "outside"
    shutil.copytree(good, outside)
    out["outside"] = outside
    (train / "escape").symlink_to(outside, target_is_directory=True)
    out["escape"] = train / "escape"
    linked = copy("linkweights")
    (linked / "weights.pt").unlink()
    (linked / "weights.pt").symlink_to(outside / "weights.pt")
    return out


def _run(world, name):
    return str(world["bad"][name])


MODELS = "/models"
#: (id, method, path, body: JSON value, raw bytes or a callable of world, status, message regex)
BAD = [
    ("not-json", "POST", MODELS, b"{model_dir:", 400, r"request body is not valid JSON"),
    ("json-array", "POST", MODELS, [1, 2], 400, r"request body must be a JSON object, got list"),
    ("empty-body", "POST", MODELS, b"", 400, r"request body is empty; send a JSON object"),
    ("no-model-dir", "POST", MODELS, {"start": 1}, 400, r"field model_dir is required"),
    (
        "model-dir-number",
        "POST",
        MODELS,
        {"model_dir": 12},
        400,
        r"model_dir must be a non-empty path string, got 12",
    ),
    (
        "model-dir-empty",
        "POST",
        MODELS,
        {"model_dir": " "},
        400,
        r"model_dir must be a non-empty path string",
    ),
    (
        "model-dir-nul",
        "POST",
        MODELS,
        {"model_dir": "a\0b"},
        400,
        r"model_dir must be a non-empty path string",
    ),
    (
        "traversal",
        "POST",
        MODELS,
        lambda w: {"model_dir": f"../../{w['root'].name}/outside"},
        400,
        r"resolves to .*outside, outside the training directory",
    ),
    (
        "absolute-outside",
        "POST",
        MODELS,
        lambda w: {"model_dir": _run(w, "outside")},
        400,
        r"outside the training directory",
    ),
    (
        "etc",
        "POST",
        MODELS,
        {"model_dir": "/etc"},
        400,
        r"'/etc' resolves to /etc, outside the training directory",
    ),
    (
        "train-dir-itself",
        "POST",
        MODELS,
        {"model_dir": "."},
        400,
        r"outside the training directory",
    ),
    (
        "symlink-escape",
        "POST",
        MODELS,
        lambda w: {"model_dir": _run(w, "escape")},
        400,
        r"escape' resolves to .*outside, outside the training directory",
    ),
    (
        "symlinked-weights",
        "POST",
        MODELS,
        lambda w: {"model_dir": _run(w, "linkweights")},
        400,
        r"weights.pt resolves to .*outside/weights.pt, outside the training directory",
    ),
    ("missing-dir", "POST", MODELS, {"model_dir": "1400009999-1400010031"}, 404, r"does not exist"),
    (
        "a-file",
        "POST",
        MODELS,
        lambda w: {"model_dir": _run(w, "file")},
        422,
        r"is not a directory",
    ),
    (
        "no-metadata",
        "POST",
        MODELS,
        lambda w: {"model_dir": _run(w, "nometa")},
        422,
        r"has no metadata.json",
    ),
    (
        "no-weights",
        "POST",
        MODELS,
        lambda w: {"model_dir": _run(w, "noweights")},
        422,
        r"has no weights.pt",
    ),
    (
        "metadata-not-json",
        "POST",
        MODELS,
        lambda w: {"model_dir": _run(w, "badmeta")},
        422,
        r"model metadata .*metadata.json is not valid",
    ),
    (
        "weights-garbage",
        "POST",
        MODELS,
        lambda w: {"model_dir": _run(w, "garbage")},
        422,
        r"weights.pt: not a DeepClean state dict",
    ),
    (
        "weights-pickle",
        "POST",
        MODELS,
        lambda w: {"model_dir": _run(w, "pickle")},
        422,
        r"weights.pt: not a DeepClean state dict \(UnpicklingError: Weights only load failed",
    ),
    (
        "weights-nan",
        "POST",
        MODELS,
        lambda w: {"model_dir": _run(w, "nan")},
        422,
        r"hold NaN or infinite values in network.output_conv.weight",
    ),
    (
        "weights-inf",
        "POST",
        MODELS,
        lambda w: {"model_dir": _run(w, "inf")},
        422,
        r"hold NaN or infinite values in witness_scaler.std",
    ),
    (
        "other-channels",
        "POST",
        MODELS,
        lambda w: {"model_dir": _run(w, "channels")},
        422,
        r"the run's channels .* differ from the repository's",
    ),
    (
        "witness-count",
        "POST",
        MODELS,
        lambda w: {"model_dir": _run(w, "witnesses")},
        422,
        r"were trained on 3 witnesses, but the channel list has 2 witnesses",
    ),
    (
        "run-for-l1",
        "POST",
        MODELS,
        lambda w: {"model_dir": _run(w, "l1")},
        422,
        r"the run is for L1, this exporter serves H1",
    ),
    (
        "payload-ifo",
        "POST",
        MODELS,
        lambda w: {"model_dir": str(w["installed"]["b"]), "ifo": "L1"},
        422,
        r"the run is for IFO 'L1'; this exporter serves H1",
    ),
    (
        "sample-rate",
        "POST",
        MODELS,
        lambda w: {"model_dir": _run(w, "rate")},
        422,
        r"sample_rate 4096.0 Hz differs from 2048.0",
    ),
    (
        "oversized",
        "POST",
        MODELS,
        lambda w: {"model_dir": "x" * 70000},
        413,
        r"request body larger than 65536 bytes",
    ),
    (
        "promote-missing",
        "POST",
        "/promote",
        {"version": 99},
        404,
        r"deepclean has no version 99; versions on disk: \[1, 2\]",
    ),
    (
        "promote-untrained",
        "POST",
        "/promote",
        {"version": 1},
        409,
        r"version 1 is the untrained placeholder",
    ),
    (
        "promote-string",
        "POST",
        "/promote",
        {"version": "2"},
        400,
        r"version must be a positive integer .*got '2'",
    ),
    (
        "promote-bool",
        "POST",
        "/promote",
        {"version": True},
        400,
        r"version must be a positive integer .*got True",
    ),
    ("promote-zero", "POST", "/promote", {"version": 0}, 400, r"got 0"),
    ("promote-negative", "POST", "/promote", {"version": -2}, 400, r"got -2"),
    ("promote-float", "POST", "/promote", {"version": 2.5}, 400, r"got 2.5"),
    (
        "promote-unknown-field",
        "POST",
        "/promote",
        {"version": 2, "force": True},
        400,
        r"unknown field\(s\) \['force'\]",
    ),
    ("promote-not-json", "POST", "/promote", b"version=2", 400, r"request body is not valid JSON"),
    (
        "promote-no-version",
        "POST",
        "/promote",
        {},
        400,
        r'field "version" is required: the deepclean version',
    ),
    (
        "promote-null-version",
        "POST",
        "/promote",
        {"version": None},
        400,
        r'field "version" is required',
    ),
    ("promote-empty", "POST", "/promote", b"", 400, r"request body is empty"),
    (
        "promote-form",
        "POST",
        "/promote",
        ("application/x-www-form-urlencoded", b"version=2"),
        415,
        r"request body sent as 'application/x-www-form-urlencoded'; allowed: Content-Type: "
        r"application/json",
    ),
    (
        "promote-text-plain",
        "POST",
        "/promote",
        ("text/plain", b'{"version": 2}'),
        415,
        r"sent as 'text/plain'",
    ),
    ("promote-no-type", "POST", "/promote", (None, b'{"version": 2}'), 415, r"no Content-Type"),
    ("models-form", "POST", MODELS, ("multipart/form-data; boundary=x", b"--x--"), 415, r"form"),
    (
        "promote-production",
        "POST",
        "/promote",
        {"version": 1},
        409,
        r"version 1 is the untrained placeholder",
    ),
    (
        "promote-by-unknown",
        "POST",
        "/promote",
        {"version": 2, "by": "root"},
        400,
        r'"by" is \'root\'; allowed: cli, monitor, trainer',
    ),
    (
        "promote-evidence-list",
        "POST",
        "/promote",
        {"version": 2, "evidence": [1]},
        400,
        r'"evidence" must be a JSON object, got list',
    ),
    ("rollback-no-field", "POST", "/rollback", {}, 400, r'field "production" is required'),
    (
        "rollback-not-production",
        "POST",
        "/rollback",
        {"production": 2},
        409,
        r"version 2 is not production \(production is 1\); name the version you roll back from",
    ),
    (
        "rollback-placeholder",
        "POST",
        "/rollback",
        {"production": 1},
        409,
        r"no production version before 1 is recorded on disk \(history \[1\]\)",
    ),
    (
        "rollback-unknown-field",
        "POST",
        "/rollback",
        {"production": 1, "to": 0},
        400,
        r"unknown field\(s\) \['to'\]",
    ),
    ("rollback-string", "POST", "/rollback", {"production": "1"}, 400, r"got '1'"),
    (
        "get-models",
        "GET",
        MODELS,
        None,
        405,
        r"method GET is not allowed on /models; allowed: POST",
    ),
    (
        "get-promote",
        "GET",
        "/promote",
        None,
        405,
        r"method GET is not allowed on /promote; allowed: POST",
    ),
    ("put-models", "PUT", MODELS, {"model_dir": "x"}, 405, r"method PUT is not allowed on /models"),
    (
        "delete-versions",
        "DELETE",
        "/versions",
        None,
        405,
        r"method DELETE is not allowed on /versions; allowed: GET",
    ),
    ("unknown-route", "GET", "/models/1", None, 404, r"no route /models/1; routes: /health"),
    ("unknown-job", "GET", "/jobs/999", None, 404, r"no job 999"),
    ("job-not-a-number", "GET", "/jobs/abc", None, 404, r"no route /jobs/abc"),
]


def _state(world):
    client = world["client"]
    return (
        tree(world["settings"].repository),
        client.get("/versions").json,
        client.get("/jobs").json,
    )


def _send(client, method, path, body, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if isinstance(body, tuple):  # (Content-Type, raw bytes)
        content_type, data = body
        return client.open(
            path, method=method, data=data, headers=headers, content_type=content_type
        )
    if isinstance(body, bytes):
        return client.open(
            path, method=method, data=body, headers=headers, content_type="application/json"
        )
    if body is None:
        return client.open(path, method=method, headers=headers)
    return client.open(path, method=method, json=body, headers=headers)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"), [p[1:] for p in BAD], ids=[p[0] for p in BAD]
)
def test_bad_request(world, method, path, body, status, message) -> None:
    before = _state(world)
    reply = _send(world["client"], method, path, body(world) if callable(body) else body)
    assert reply.status_code == status, reply.json
    assert set(reply.json) == {"error"} and "\n" not in reply.json["error"], reply.json
    assert re.search(message, reply.json["error"]), reply.json["error"]
    assert _state(world) == before


AUTH = [
    (
        "no-header",
        MODELS,
        None,
        r"missing header 'Authorization: Bearer <token>' \(DEEPCLEAN_TOKEN is set\)",
    ),
    ("wrong-token", MODELS, "Bearer nope", r"wrong token in the Authorization header"),
    ("basic-scheme", MODELS, "Basic czNjcmV0LXRva2Vu", r"missing header 'Authorization: Bearer"),
    ("token-prefix", "/promote", f"Bearer {TOKEN[:-1]}", r"wrong token"),
    ("token-longer", "/promote", f"Bearer {TOKEN}x", r"wrong token"),
]


@pytest.mark.parametrize(
    ("path", "header", "message"), [a[1:] for a in AUTH], ids=[a[0] for a in AUTH]
)
def test_token_required(world, path, header, message) -> None:
    app = create_app(world["settings"], world["store"], exporter=world["exporter"], token=TOKEN)
    client = app.test_client()
    before = _state(world)
    headers = {"Authorization": header} if header else {}
    reply = client.post(path, json={"model_dir": str(world["installed"]["b"])}, headers=headers)
    assert reply.status_code == 401 and re.search(message, reply.json["error"]), reply.json
    assert _state(world) == before
    assert client.get("/versions").status_code == 200  # reads stay open


def test_same_run_twice_and_concurrent_runs(world) -> None:
    client, installed = world["client"], world["installed"]
    # the run exported at start-up again: the same job, nothing exported
    again = client.post(
        MODELS, json={"model_dir": str(installed["a"]) + "/../" + installed["a"].name}
    )
    assert (
        again.status_code == 200 and again.json["version"] == 2 and again.json["status"] == "done"
    )
    # two different runs posted at once: both exported, one after the other
    replies = {}

    def post(name):
        replies[name] = client.post(MODELS, json={"model_dir": str(installed[name])})

    threads = [threading.Thread(target=post, args=(n,)) for n in ("b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status_code for r in replies.values()} == {202}
    duplicate = client.post(
        MODELS, json={"model_dir": str(installed["b"])}
    )  # queued or done: the same job
    assert duplicate.json["job"] == replies["b"].json["job"]
    jobs = [_wait(client, r.json["job"]) for r in replies.values()]
    assert sorted(j["version"] for j in jobs) == [3, 4] and all(j["status"] == "done" for j in jobs)
    first, second = sorted(jobs, key=lambda j: j["started"])
    assert first["finished"] <= second["started"]  # one at a time
    versions = client.get("/versions").json
    assert versions["production"]["version"] == 1 and versions["production"]["trained"] is False
    assert (
        versions["canary"]["version"] == second["version"]
        and versions["canary"]["model_dir"] == second["model_dir"]
    )
    assert second["version"] == 4 and [o["version"] for o in versions["others"]] == [2, 3]
    assert ModelRepository(world["settings"].repository)["deepclean"].versions == [1, 2, 3, 4]


def test_promote_rollback_and_retention(world) -> None:
    client, store = world["client"], world["store"]
    s = world["settings"]
    canary = read_versions(store.path)["canary"]
    assert read_versions(store.path)["production"] == 1 and canary == 4
    # only the canary, named, can be promoted: not a version that merely exists
    reply = client.post("/promote", json={"version": 2})
    assert (
        reply.status_code == 409 and "version 2 is not the canary (canary 4" in reply.json["error"]
    )
    reply = client.post("/promote", json={"version": canary})
    assert reply.status_code == 200, reply.json
    assert reply.json["production"] == canary and reply.json["canary"] == canary
    assert reply.json["previous"] == {"production": 1, "canary": canary}
    again = client.post("/promote", json={"version": canary})  # already production: nothing to do
    assert again.status_code == 200 and again.json["previous"] == {"production": 4, "canary": 4}
    # the production before 4 is the untrained placeholder: nothing a rollback may go to
    reply = client.post("/rollback", json={"production": 4})
    assert (
        reply.status_code == 409 and "version 1 is the untrained placeholder" in reply.json["error"]
    )
    assert read_versions(store.path) == {"production": 4, "canary": 4}

    # a new run: keep_versions=3 keeps 3, 4, 5 (production 4); the placeholder goes, with its
    # records
    shutil.copytree(world["runs"]["a"], world["project"] / "train" / "1400000004-1400000036")
    reply = client.post(MODELS, json={"model_dir": "1400000004-1400000036", "by": "trainer"})
    assert _wait(client, reply.json["job"])["version"] == 5
    dc = ModelRepository(store.path)["deepclean"]
    assert dc.versions == [3, 4, 5]
    assert sorted(parse_version_info(dc.parameters["version_info"])) == [3, 4, 5]
    assert client.post("/promote", json={"version": 5}).status_code == 200
    # a rollback names the production it leaves; it goes to the production before (4), which
    # becomes the canary too: the newer versions are retired (the monitor would promote them back)
    reply = client.post("/rollback", json={"production": 4})
    assert (
        reply.status_code == 409
        and "version 4 is not production (production is 5)" in (reply.json["error"])
    )
    reply = client.post(
        "/rollback",
        json={"production": 5, "by": "monitor", "evidence": {"production_ratio": 1.3}},
    )
    assert reply.status_code == 200, reply.json
    assert reply.json["production"] == 4 and reply.json["canary"] == 4
    assert reply.json["previous"] == {"production": 5, "canary": 5}
    assert read_versions(store.path) == {"production": 4, "canary": 4}
    # nothing recorded before 4 but the placeholder: no second rollback
    assert client.post("/rollback", json={"production": 4}).status_code == 409
    # the retired, finished version 5 is newer than every pin but survives a restart's repairs
    ModelStore(s, parse_channels(s.channels, s.ifo), url=None).bootstrap()
    assert ModelRepository(store.path)["deepclean"].versions == [3, 4, 5]

    # another run: keeps 4, 5, 6, and production 4, the version rollbacks go back to
    shutil.copytree(world["runs"]["b"], world["project"] / "train" / "1400000005-1400000037")
    reply = client.post(MODELS, json={"model_dir": "1400000005-1400000037"})
    assert _wait(client, reply.json["job"])["version"] == 6
    assert ModelRepository(store.path)["deepclean"].versions == [4, 5, 6]
    assert read_versions(store.path) == {"production": 4, "canary": 6}
    metrics = client.get("/metrics").data.decode()
    assert (
        "deepclean_exporter_production_version 4.0" in metrics
        and "deepclean_exporter_canary_version 6.0" in metrics
    )
    assert re.search(r'deepclean_exporter_exports_total\{result="done"\} 5.0', metrics)

    # an export interrupted by a crash (a version folder without a record) is removed at start-up
    dc_path = ModelRepository(store.path)["deepclean"].path
    shutil.copytree(dc_path / "6", dc_path / "7")
    ModelStore(s, parse_channels(s.channels, s.ifo), url=None).bootstrap()
    assert ModelRepository(store.path)["deepclean"].versions == [4, 5, 6]
    assert read_versions(store.path) == {"production": 4, "canary": 6}

    # every export, promotion and rollback is in the audit log, with who asked and why
    entries = [(e.action, e.who, e.versions) for e in read_audit(world["project"])]
    assert entries == [
        ("export", "request", {"version": 2}),
        ("export", "request", {"version": 3}),
        ("export", "request", {"version": 4}),
        ("promote", "request", {"from": 1, "to": 4}),
        ("export", "trainer", {"version": 5}),
        ("promote", "request", {"from": 4, "to": 5}),
        ("rollback", "monitor", {"from": 5, "to": 4}),
        ("export", "request", {"version": 6}),
    ]
    rollback = read_audit(world["project"])[-2]
    assert rollback.ifo == "H1" and rollback.evidence["production_ratio"] == 1.3
    assert rollback.evidence["remote_addr"] == "127.0.0.1" and rollback.evidence["canary"] == 4


def test_real_http(world) -> None:
    """The same app through waitress: errors stay JSON, the body limit holds, health and versions
    answer."""
    app = create_app(world["settings"], world["store"], exporter=world["exporter"], token=TOKEN)
    before = _state(world)
    with HttpServer(app, max_body_bytes=world["settings"].max_body_bytes) as server:
        base = server.url
        assert http("GET", f"{base}/health") == (200, {"status": "ok"})
        assert http("GET", f"{base}/ready") == (503, {"error": "no Triton server configured"})
        status, body = http("POST", f"{base}/models", {"model_dir": "/etc"}, token=TOKEN)
        assert status == 400 and "outside the training directory" in body["error"]
        assert http("POST", f"{base}/promote", {"version": 2}, token="wrong")[0] == 401
        status, body = http("POST", f"{base}/models", raw=b"x" * 200_000, token=TOKEN)
        assert status == 413
        status, body = http("GET", f"{base}/versions")
        assert status == 200 and set(body) == {"production", "canary", "others"}
        # the right token is not enough: a form or text/plain (what a web page can post) is refused
        for content_type in ("application/x-www-form-urlencoded", "text/plain", None):
            status, body = http(
                "POST",
                f"{base}/promote",
                raw=b'{"version": 6}',
                token=TOKEN,
                content_type=content_type,
            )
            assert status == 415 and "allowed: Content-Type: application/json" in body["error"]
        status, body = http("POST", f"{base}/promote", {}, token=TOKEN)
        assert status == 400 and 'field "version" is required' in body["error"]
        status, body = http("POST", f"{base}/promote", {"version": 5}, token=TOKEN)
        assert status == 409 and "version 5 is not the canary (canary 6" in body["error"]
        status, body = http("POST", f"{base}/rollback", {"production": 6}, token=TOKEN)
        assert status == 409 and "version 6 is not production" in body["error"]
    assert _state(world) == before


def test_closed_unless_opened(world, tmp_path, monkeypatch) -> None:
    """Over waitress: no token refuses every POST (403), the explicit opt-out serves them
    unauthenticated (and audits them so), a token in ./.env is the token."""
    monkeypatch.delenv("DEEPCLEAN_TOKEN", raising=False)
    monkeypatch.delenv("DEEPCLEAN_ENV_FILE", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here
    s, store, exporter = world["settings"], world["store"], world["exporter"]
    before = _state(world)
    closed = create_app(s, store, exporter=exporter)
    opened = create_app(s.model_copy(update={"insecure_no_token": True}), store, exporter=exporter)
    with HttpServer(closed) as a, HttpServer(opened) as b:
        for body, path in (({"version": 6}, "/promote"), ({"production": 4}, "/rollback")):
            status, reply = http("POST", f"{a.url}{path}", body)
            assert status == 403 and re.search(
                r"this exporter has no token \(DEEPCLEAN_TOKEN unset\) and refuses state-changing "
                r"requests; set DEEPCLEAN_TOKEN where it starts, or start it with "
                r"--insecure-no-token",
                reply["error"],
            ), reply
        assert http("GET", f"{a.url}/versions")[0] == 200
        status, reply = http("POST", f"{b.url}/promote", {"version": 5})  # no token needed
        assert status == 409 and "not the canary" in reply["error"]
        status, reply = http(
            "POST", f"{b.url}/promote", raw=b"version=6", content_type="text/plain"
        )
        assert status == 415  # still JSON only
    assert _state(world) == before
    # the token of an exporter started here comes from ./.env when the environment has none
    (tmp_path / ".env").write_text("DEEPCLEAN_TOKEN=only-in-the-dot-env\n")
    with HttpServer(create_app(s, store, exporter=exporter)) as c:
        for token, status in ((None, 401), ("wrong", 401), ("only-in-the-dot-env", 409)):
            got, reply = http("POST", f"{c.url}/promote", {"version": 5}, token=token)
            assert got == status, reply
    assert _state(world) == before


def test_trainer_notification_carries_the_token(world, monkeypatch) -> None:
    """The trainer's notify() against the exporter over HTTP: with DEEPCLEAN_TOKEN it is accepted,
    without refused."""
    from deepclean.services.trainer.notify import notify

    app = create_app(world["settings"], world["store"], exporter=world["exporter"], token=TOKEN)
    payload = {
        "ifo": "H1",
        "start": 1400000000,
        "end": 1400000032,
        "model_dir": str(world["installed"]["a"]),
        "valid_loss": 0.9,
        "in_band_ratio": None,
    }
    before = _state(world)
    with HttpServer(app) as server:
        monkeypatch.setenv("DEEPCLEAN_TOKEN", TOKEN)
        assert notify(
            f"{server.url}/models", payload, retries=0
        )  # exported already: 200 with its version
        monkeypatch.setenv("DEEPCLEAN_TOKEN", "wrong")
        assert not notify(
            f"{server.url}/models",
            payload,
            retries=2,
            sleep=lambda s: pytest.fail("4xx is not retried"),
        )
        monkeypatch.delenv("DEEPCLEAN_TOKEN")
        assert not notify(f"{server.url}/models", payload, retries=0)
    assert _state(world) == before  # the run's job (done) answered; nothing exported again
