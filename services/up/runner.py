"""Run the planned processes under honcho: prefixed lines on the console, one log file per service.

honcho (a Procfile runner from PyPI) starts every process in its own process group and
prefixes each output line with the time and the process name; :class:`.supervisor.Supervisor`
starts a process that exits again (with backoff) and on SIGINT/SIGTERM sends SIGTERM to every
group, then SIGKILL after ``stop_timeout`` seconds. Every line is also appended to
``<log_dir>/<name>.log`` (the manager's own lines to ``up.log``), rotated at ``max_bytes``
(``<name>.log.1`` ... ``.<backups>``, the oldest dropped) so the logs stay bounded.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO

import honcho.manager
from dotenv import dotenv_values
from honcho.environ import parse_procfile
from honcho.printer import Message, Printer

from deepclean.services.up.restart import Backoff
from deepclean.services.up.supervisor import Supervisor

SYSTEM_LOG = "up"  #: log file of honcho's own lines (start, stop, signals)


class LogFile(RotatingFileHandler):
    """One service's log file. A line that cannot be written (a full disk) is dropped; the first
    of an outage is reported in one line on stderr (not a traceback per line), and so is the
    first line written again."""

    failing = False

    def emit(self, record: logging.LogRecord) -> None:
        self._failed = False
        super().emit(record)  # calls handleError on failure
        if self.failing and not self._failed:
            self.failing = False
            sys.stderr.write(f"up: writing {self.baseFilename} again\n")

    def close(self) -> None:
        # the buffered lines cannot be flushed to a full disk: dropped
        with contextlib.suppress(OSError):
            super().close()

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        self._failed = True
        if not self.failing:
            self.failing = True
            sys.stderr.write(
                f"up: cannot write {self.baseFilename}: {sys.exc_info()[1]}; its lines are "
                "dropped until it can\n"
            )


class TeePrinter(Printer):
    """honcho's console printer that also appends each process's lines to its own log file."""

    def __init__(
        self,
        log_dir: Path,
        output: IO[str] = sys.stdout,
        *,
        max_bytes: int = 10 * 2**20,
        backups: int = 5,
    ) -> None:
        super().__init__(output)
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.max_bytes, self.backups = max_bytes, backups
        self.files: dict[str, LogFile] = {}

    def write(self, message: Message) -> None:
        super().write(message)
        name = (
            message.name
            if message.name and message.name != honcho.manager.SYSTEM_PRINTER_NAME
            else SYSTEM_LOG
        )
        handle = self.files.get(name)
        if handle is None:
            handle = self.files[name] = LogFile(
                self.log_dir / f"{name}.log",
                maxBytes=self.max_bytes,
                backupCount=self.backups,
                encoding="utf-8",
            )
            handle.setFormatter(logging.Formatter("%(message)s"))
        data = (
            message.data.decode("utf-8", "replace")
            if isinstance(message.data, bytes)
            else message.data
        )
        for line in data.splitlines():  # one record per line: rotation never splits a line
            handle.emit(logging.makeLogRecord({"msg": line, "levelno": logging.INFO}))

    def close(self) -> None:
        for handle in self.files.values():
            handle.close()
        self.files.clear()


def child_environment(
    bin_dir: Path, env_file: Path | None = None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Our environment over the variables of ``env_file`` (``.env``: so that variables the
    services read directly, such as ``DEEPCLEAN_TOKEN``, apply too), then ``extra`` (the
    token ``up`` settled on), with ``bin_dir`` (holding ``deepclean``) first on PATH and
    unbuffered Python."""
    env = {}
    if env_file is not None and Path(env_file).is_file():
        env.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    env.update(os.environ)
    env.update(extra or {})
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_procfile(
    procfile: Path,
    log_dir: Path,
    *,
    stop_timeout: float,
    bin_dir: Path,
    env_file: Path | None = None,
    banner: list[str] = (),
    backoff: Backoff | None = None,
    command_for=None,
    on_change=None,
    group_grace: float = 5.0,
    log_max_bytes: int = 10 * 2**20,
    log_backups: int = 5,
    extra_env: dict[str, str] | None = None,
) -> int:
    """Run every process of ``procfile``, restarting those that exit (after ``backoff``), until
    SIGINT/SIGTERM; then stop them all and return 130/143. ``command_for`` and ``on_change``:
    see :class:`.supervisor.Supervisor`."""
    processes = parse_procfile(Path(procfile).read_text()).processes
    printer = TeePrinter(log_dir, max_bytes=log_max_bytes, backups=log_backups)
    manager = Supervisor(
        printer,
        backoff=backoff,
        kill_wait=stop_timeout,
        group_grace=group_grace,
        command_for=command_for,
        on_change=on_change,
    )
    env = child_environment(bin_dir, env_file, extra_env)
    for name, command in processes.items():
        manager.add_process(name, command, env=env)
    for line in banner:
        printer.write(
            Message(
                type="line",
                data=line + "\n",
                time=datetime.datetime.now(),
                name=honcho.manager.SYSTEM_PRINTER_NAME,
                colour=None,
            )
        )
    try:
        manager.loop()
    finally:
        printer.close()
    return int(manager.returncode or 0)
