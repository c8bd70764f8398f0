"""honcho's process manager with a restart policy: a service that exits is started again.

honcho (a Procfile runner from PyPI) gives each process its own process group, prefixes every
output line with the time and the process name, and stops every group with SIGTERM, then
SIGKILL after a grace period. On its own it also stops everything as soon as one process
exits. :class:`Supervisor` keeps all of that but the last: a process that exits while we are
not stopping is started again after the backoff of :mod:`.restart`, each restart logged
(``system`` lines, ``up.log``) and counted (``deepclean_up_restarts_total``). SIGINT/SIGTERM
stop everything as before, a service waiting for its restart included.

Why not supervisord or circus (both on PyPI): supervisord restarts a process that ran longer
than ``startsecs`` at once, with no backoff, gives a fast-failing one up for good (FATAL) after
``startretries``, and writes each process's output to its own files without the per-line
prefixes on one console; circus respawns at once too and stops a watcher after ``max_retry``,
needs ZeroMQ and tornado, and is controlled over a socket. ``up`` is a foreground command
whose Ctrl-C stops everything; honcho already does that part, so the restart policy is the
only new piece, small and tested on its own (``tests/services/up/test_restart.py``).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

import honcho.manager
from honcho.manager import Manager
from honcho.printer import Message
from honcho.process import Process

from deepclean.services.up.restart import Backoff, ServiceRestarts

logger = logging.getLogger(__name__)


#: environment variable marking every process one launch of a service started, whatever its
#: process group or session (Triton's server leads a session of its own, with its stubs)
RUN_MARKER = "DEEPCLEAN_UP_RUN"


def marked_processes(token: str) -> list[int]:
    """Pids of our live processes whose environment holds ``RUN_MARKER=token``."""
    needle = f"{RUN_MARKER}={token}".encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes() + b"\0":
                found.append(int(entry.name))
        except OSError:  # gone, or not ours
            continue
    return found


class GroupProcess(Process):
    """honcho's process, over when its leader is: the shell of the Procfile line, or the service
    it ``exec``\\ s. Processes it left behind in its group (killed with -9, a service has no
    chance to stop its children) are given ``group_grace`` seconds to end, then SIGKILL, so
    that they neither keep the output pipe open (honcho would wait for them forever) nor hold
    the ports the restarted service needs."""

    def __init__(self, *args, group_grace: float = 5.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.group_grace = group_grace
        self.token = ""  #: this launch's RUN_MARKER value (set by the supervisor)

    def _pump(self) -> None:
        for line in iter(self._child.stdout.readline, b""):
            if not self.quiet:
                self._send_message(line)

    def run(self, events=None, ignore_signals: bool = False) -> None:
        self._events = events
        self._child = self._child_ctor(self.cmd, env=self.env, cwd=self.cwd)
        self._send_message({"pid": self._child.pid}, type="start")
        if ignore_signals:  # the manager stops the child's group; this reader just reads
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        reader = threading.Thread(target=self._pump, daemon=True)
        reader.start()
        self._child.wait()
        reader.join(self.group_grace)
        if reader.is_alive():
            self._send_message(
                f"(up: the group of pid {self._child.pid} outlived it by {self.group_grace:g} s; "
                "SIGKILL)\n".encode()
            )
            with contextlib.suppress(OSError):
                os.killpg(self._child.pid, signal.SIGKILL)
            reader.join(5.0)
        # what it started in other process groups (Triton's server and its stubs, orphaned when
        # `deepclean triton` is killed -9: they would keep serving the ports next to the
        # restarted one, gRPC binding with SO_REUSEPORT)
        leftovers = marked_processes(self.token) if self.token else []
        if leftovers:
            self._send_message(f"(up: SIGKILL to {leftovers} it left running)\n".encode())
            for pid in leftovers:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        self._send_message({"returncode": self._child.returncode}, type="stop")


class Supervisor(Manager):
    """A honcho manager that restarts what exits (see the module docstring).

    ``command_for(name)`` gives the command a restarted service runs (``deepclean up``
    plans it again from what is on disk, as a new ``./run.sh up`` would); ``None`` or an
    error keeps the previous one. ``on_change(name, running, restarts)`` hears every start
    and exit (the metrics).
    """

    def __init__(
        self,
        printer,
        *,
        backoff: Backoff | None = None,
        kill_wait: float = 30.0,
        group_grace: float = 5.0,
        command_for: Callable[[str], str | None] | None = None,
        on_change: Callable[[str, bool, int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(printer=printer)
        self._process_ctor = partial(GroupProcess, group_grace=group_grace)
        self.backoff = backoff or Backoff()
        self.kill_wait = kill_wait
        self.command_for = command_for
        self.on_change = on_change or (lambda name, running, restarts: None)
        self.clock = clock
        self.restarts: dict[str, ServiceRestarts] = {}
        self._killed = False

    def add_process(self, name, cmd, quiet=False, env=None, cwd=None):
        proc = super().add_process(name, cmd, quiet=quiet, env=env, cwd=cwd)
        self.restarts[name] = ServiceRestarts(self.backoff)
        return proc

    # -- starting ---------------------------------------------------------------------------
    def _launch(self, name: str) -> None:
        p = self._processes[name]
        p.pop("returncode", None)
        p["pid"] = None
        obj = p["obj"]
        obj.token = f"{name}-{os.getpid()}-{self.restarts[name].restarts}-{uuid.uuid4().hex[:8]}"
        obj.env = {**obj.env, RUN_MARKER: obj.token}
        p["process"] = multiprocessing.Process(
            name=name, target=p["obj"].run, args=(self.events, True)
        )
        p["process"].start()
        self.restarts[name].started = self.clock()

    def _start(self) -> None:
        for name in self._processes:
            self._launch(name)

    def _restart(self, name: str) -> None:
        obj = self._processes[name]["obj"]
        if self.command_for is not None:
            try:
                command = self.command_for(name)
            except Exception as exc:  # noqa: BLE001 - a failed re-plan keeps the last command
                self._system_print(f"{name}: planning its restart failed ({exc}); same command\n")
                command = None
            if command:
                obj.cmd = command
        record = self.restarts[name]
        record.restarted(self.clock())
        self._system_print(f"{name} restarting (restart {record.restarts})\n")
        self._launch(name)

    # -- the loop ---------------------------------------------------------------------------
    def _handle(self, msg: Message) -> None:
        p = self._processes.get(msg.name)
        if msg.type == "line":
            self._printer.write(msg)
        elif msg.type == "start" and p is not None:
            p["pid"] = msg.data["pid"]
            self._system_print(f"{msg.name} started (pid={p['pid']})\n")
            self.on_change(msg.name, True, self.restarts[msg.name].restarts)
            if self._terminating:  # started while we were stopping: stop it too
                self._procmgr.terminate(p["pid"])
        elif msg.type == "stop" and p is not None:
            p["returncode"] = msg.data["returncode"]
            p["process"].join()
            record = self.restarts[msg.name]
            ran = self.clock() - record.started
            self.on_change(msg.name, False, record.restarts)
            if self._terminating:
                self._system_print(f"{msg.name} stopped (rc={p['returncode']})\n")
                return
            wait = record.exited(self.clock())
            self._system_print(
                f"{msg.name} exited (rc={p['returncode']}) after {ran:.0f} s; "
                f"restart {record.restarts + 1} in {wait:g} s (crash {record.streak} in a row)\n"
            )

    def _all_stopped(self) -> bool:
        return all(
            "returncode" in p and not p["process"].is_alive() for p in self._processes.values()
        )

    def _killall(self, force: bool = False) -> None:
        for name, p in self._processes.items():
            if "returncode" in p or p.get("pid") is None:
                continue  # stopped, or not started yet (stopped on its start message)
            signame = "SIGKILL" if force else "SIGTERM"
            self._system_print(f"sending {signame} to {name} (pid {p['pid']})\n")
            (self._procmgr.kill if force else self._procmgr.terminate)(p["pid"])

    def loop(self) -> None:
        def _terminate(signum, frame) -> None:
            self._system_print(f"{honcho.manager.SIGNALS[signum]['name']} received\n")
            self.returncode = honcho.manager.SIGNALS[signum]["rc"]
            self.terminate()

        signal.signal(signal.SIGTERM, _terminate)
        signal.signal(signal.SIGINT, _terminate)
        self._start()
        stopping_since = None
        while True:
            with contextlib.suppress(queue.Empty):
                self._handle(self.events.get(timeout=0.1))
            now = self.clock()
            if not self._terminating:
                for name, record in self.restarts.items():
                    if record.is_due(now):
                        self._restart(name)
                continue
            stopping_since = now if stopping_since is None else stopping_since
            if self._all_stopped():
                while True:  # the last lines
                    try:
                        self._handle(self.events.get_nowait())
                    except queue.Empty:
                        break
                return
            if not self._killed and now - stopping_since > self.kill_wait:
                self._killed = True
                self.kill()

    def _system_print(self, data: str) -> None:
        self._printer.write(
            Message(
                type="line",
                data=data,
                time=datetime.datetime.now(),
                name=honcho.manager.SYSTEM_PRINTER_NAME,
                colour=None,
            )
        )
