"""deepclean wait-for and the honcho runner: readiness by polling, prefixed logs per service,
and a stop that leaves no process behind."""

import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from deepclean.services.up.wait_cli import pending, wait_for
from deepclean.utils.errors import ServerUnavailableError

BIN = Path(sys.executable).parent


class _Health(BaseHTTPRequestHandler):
    ready = False

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200 if type(self).ready else 503)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def health():
    handler = type("Health", (_Health,), {"ready": False})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}/health"
    server.shutdown()


def test_wait_for_polls_until_ready(health, tmp_path: Path) -> None:
    handler, url = health
    flag = tmp_path / "flag"
    assert pending([url], [flag]) == [url, str(flag)]
    threading.Timer(0.5, lambda: setattr(handler, "ready", True)).start()
    threading.Timer(0.8, flag.touch).start()
    waited = wait_for([url], [flag], timeout=10, interval=0.05)
    assert 0.7 < waited < 5


def test_wait_for_names_what_is_missing_after_the_timeout(health) -> None:
    _, url = health
    with pytest.raises(ServerUnavailableError, match=f"not ready after 0.3 s: {url}"):
        wait_for([url], [], timeout=0.3, interval=0.05)


def test_wait_for_command_execs_once_ready(health, tmp_path: Path) -> None:
    handler, url = health
    handler.ready = True
    result = subprocess.run(
        [str(BIN / "deepclean"), "wait-for", "--url", url, "--", "echo", "started"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "started\n"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_runner_prefixes_logs_and_stops_every_process(tmp_path: Path) -> None:
    procfile = tmp_path / "Procfile"
    pids = tmp_path / "pids"
    procfile.write_text(
        "# comment lines are ignored\n"
        f"one: sh -c 'echo hello from one; sleep 300 & echo $! >> {pids}; wait'\n"
        f"two: exec deepclean wait-for --file {tmp_path / 'never'} -- echo never\n"
    )
    script = (
        "import sys; from pathlib import Path; from deepclean.services.up.runner import "
        "run_procfile; "
        f"sys.exit(run_procfile(Path('{procfile}'), Path('{tmp_path / 'logs'}'), stop_timeout=10, "
        f"bin_dir=Path('{BIN}'), banner=['hello']))"
    )
    up = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 60
    while (
        not (pids.is_file() and (tmp_path / "logs" / "two.log").is_file())
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    time.sleep(1)
    up.send_signal(signal.SIGINT)
    out, _ = up.communicate(timeout=60)
    assert up.returncode == 130, out
    assert "one    | hello from one" in out and "system | hello" in out
    assert (tmp_path / "logs" / "one.log").read_text().startswith("hello from one\n")
    assert "waiting for" in (tmp_path / "logs" / "two.log").read_text()
    assert "SIGINT received" in (tmp_path / "logs" / "up.log").read_text()
    sleeper = int(pids.read_text())
    deadline = time.monotonic() + 10
    while _alive(sleeper) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(sleeper), "a grandchild outlived the stop"


def test_a_service_log_is_rotated_and_bounded(tmp_path: Path) -> None:
    """Every line of a chatty process is kept until rotation: ``<name>.log`` and at most
    ``backups`` older files, each near ``max_bytes``, lines never split, the newest last."""
    import datetime
    import io

    from honcho.printer import Message

    from deepclean.services.up.runner import TeePrinter

    printer = TeePrinter(tmp_path, io.StringIO(), max_bytes=300, backups=2)
    lines = [f"GPS {1400000000 + i}: a cleaned frame, 100% clean" for i in range(100)]
    for line in lines:
        printer.write(Message("line", line + "\n", datetime.datetime.now(), "cleaner", None))
    printer.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["cleaner.log", "cleaner.log.1", "cleaner.log.2"]
    kept = []
    for name in ("cleaner.log.2", "cleaner.log.1", "cleaner.log"):
        text = (tmp_path / name).read_text()
        assert len(text.encode()) <= 300
        kept += text.splitlines()
    assert kept == lines[-len(kept) :] and len(kept) >= 9  # the newest lines, whole, in order


def test_a_full_disk_drops_log_lines_with_one_line_on_stderr(tmp_path: Path, capsys) -> None:
    """/dev/full refuses every write with ENOSPC, as a full project disk does: the lines are
    dropped, stderr gets one line for the outage (no traceback per line), and one when a
    line is written again."""
    import logging

    from deepclean.services.up.runner import LogFile

    handler = LogFile("/dev/full", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    for i in range(3):
        handler.emit(logging.makeLogRecord({"msg": f"line {i}", "levelno": logging.INFO}))
    err = capsys.readouterr().err
    assert err == (
        "up: cannot write /dev/full: [Errno 28] No space left on device; its lines are dropped "
        "until it can\n"
    ), err
    handler.close()
    handler.baseFilename = str(tmp_path / "cleaner.log")  # space again (the same handler)
    handler.emit(logging.makeLogRecord({"msg": "line 3", "levelno": logging.INFO}))
    handler.close()
    assert capsys.readouterr().err == f"up: writing {tmp_path / 'cleaner.log'} again\n"
    assert (tmp_path / "cleaner.log").read_text() == "line 3\n"


def test_wait_for_max_age_needs_a_recent_change(tmp_path: Path) -> None:
    """The simulator's compose healthcheck: its strain folder changed within --max-age s."""
    folder = tmp_path / "kafka"
    folder.mkdir()
    old = time.time() - 60
    os.utime(folder, (old, old))
    assert pending([], [folder], max_age=10) == [f"{folder} (missing or older than 10 s)"]
    assert pending([], [folder]) == []  # existing is enough without --max-age
    (tmp_path / "frame.tmp").write_text("x")
    (tmp_path / "frame.tmp").rename(folder / "frame.gwf")  # a frame renamed in: fresh
    assert pending([], [folder], max_age=10) == []
    result = subprocess.run(
        [str(BIN / "deepclean"), "wait-for", "--file", str(folder), "--max-age", "-1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "--max-age -1.0: must be positive seconds" in result.stderr


def test_child_environment_layers(tmp_path, monkeypatch) -> None:
    """.env under the environment under what up settled on (its token), deepclean first on PATH."""
    from deepclean.services.up.runner import child_environment

    env_file = tmp_path / ".env"
    env_file.write_text("DEEPCLEAN_TOKEN=from-file\nDEEPCLEAN_UP_DEMO=false\n")
    monkeypatch.setenv("DEEPCLEAN_UP_DEMO", "true")
    monkeypatch.delenv("DEEPCLEAN_TOKEN", raising=False)
    env = child_environment(BIN, env_file)
    assert env["DEEPCLEAN_TOKEN"] == "from-file" and env["DEEPCLEAN_UP_DEMO"] == "true"
    env = child_environment(BIN, env_file, {"DEEPCLEAN_TOKEN": "generated"})
    assert env["DEEPCLEAN_TOKEN"] == "generated"
    assert env["PATH"].startswith(f"{BIN}:") and env["PYTHONUNBUFFERED"] == "1"


def test_wait_for_any_file_needs_one_of_them(tmp_path: Path) -> None:
    """The demo's gates: any one of a few frames (the stream may drop the first)."""
    frames = [tmp_path / f"frame-{k}.gwf" for k in range(3)]
    assert pending([], [], any_files=frames) == ["one of " + ", ".join(map(str, frames))]
    frames[1].write_text("x")  # the first was dropped, the second came
    assert pending([], [], any_files=frames) == []
    result = subprocess.run(
        [str(BIN / "deepclean"), "wait-for", *[a for f in frames for a in ("--any-file", str(f))]]
        + ["--", "echo", "started"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stdout == "started\n", result.stderr
