"""``deepclean wait-for``: wait until URLs answer 200 and files exist, then run a command.

Used by ``deepclean up`` to start services by readiness: ``deepclean wait-for --url
http://127.0.0.1:8000/v2/health/ready -- deepclean exporter ...`` replaces itself with the
exporter (``exec``, so signals reach the service directly) once Triton is ready.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from deepclean.services.cli import plain_command
from deepclean.utils.errors import ConfigError, ServerUnavailableError

DESCRIPTION = """\
Wait until every --url answers HTTP 200 and every --file exists, then replace this process
with COMMAND (if given). Gives up after --timeout seconds with status 1, naming what was not
ready.

example: deepclean wait-for --url http://127.0.0.1:8000/v2/health/ready \\
           -- deepclean exporter --port 5000
"""

HELP = "wait for health endpoints and files, then run a command"

logger = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:

    parser = plain_command(subparsers, "wait-for", HELP, DESCRIPTION)
    parser.add_argument(
        "--url", action="append", default=[], help="URL that must answer 200 (repeatable)"
    )
    parser.add_argument(
        "--file", action="append", default=[], type=Path, help="file that must exist (repeatable)"
    )
    parser.add_argument(
        "--any-file",
        action="append",
        default=[],
        type=Path,
        help="files of which at least one must exist (repeatable): a frame the stream may drop "
        "and the ones after it",
    )
    parser.add_argument(
        "--max-age",
        type=float,
        default=None,
        help="every --file must also have been modified within this many seconds (a heartbeat "
        "file, e.g. the trainer's PROJECT_DIR/health/trainer-<IFO>.json; default: any age)",
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait at most (default: 600)"
    )
    parser.add_argument(
        "--interval", type=float, default=0.5, help="seconds between checks (default: 0.5)"
    )
    parser.add_argument(
        "then",
        nargs=argparse.REMAINDER,
        metavar="-- COMMAND",
        help="the command (and its arguments) to run once ready",
    )
    return parser


def is_up(url: str, timeout: float = 2.0) -> bool:
    """Whether ``url`` answers a GET with status 200 right now."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def fresh(path: Path, max_age: float | None) -> bool:
    """Whether ``path`` exists (and, with ``max_age``, was modified within ``max_age`` s)."""
    try:
        modified = path.stat().st_mtime
    except OSError:
        return False
    return max_age is None or time.time() - modified <= max_age


def pending(
    urls: list[str],
    files: list[Path],
    max_age: float | None = None,
    any_files: list[Path] = (),
) -> list[str]:
    """What is not ready yet: the URLs not answering 200, the files missing (or too old), and
    ``any_files`` when none of them exists."""
    stale = [f"{f} (missing or older than {max_age:g} s)" if max_age else str(f) for f in files]
    missing = [u for u in urls if not is_up(u)] + [
        text for f, text in zip(files, stale, strict=True) if not fresh(f, max_age)
    ]
    if any_files and not any(fresh(f, max_age) for f in any_files):
        missing.append("one of " + ", ".join(map(str, any_files)))
    return missing


def wait_for(
    urls: list[str],
    files: list[Path],
    *,
    timeout: float,
    interval: float = 0.5,
    max_age: float | None = None,
    any_files: list[Path] = (),
) -> float:
    """Block until everything is ready; return the seconds waited. ``ServerUnavailableError``
    after ``timeout`` seconds names what is still missing."""
    begun = time.monotonic()
    missing = pending(urls, files, max_age, any_files)
    if missing:
        logger.info("waiting for %s", ", ".join(missing))
    while missing:
        if time.monotonic() - begun > timeout:
            raise ServerUnavailableError(f"not ready after {timeout:g} s: {', '.join(missing)}")
        time.sleep(interval)
        missing = pending(urls, files, max_age, any_files)
    return time.monotonic() - begun


def run(args: argparse.Namespace) -> int:
    from deepclean.utils.logs import configure_logging

    command = list(args.then)
    if command and command[0] == "--":
        command = command[1:]
    if args.max_age is not None and args.max_age <= 0:
        raise ConfigError(f"--max-age {args.max_age}: must be positive seconds")
    if args.timeout <= 0 or args.interval <= 0:
        raise ConfigError(
            f"--timeout {args.timeout} and --interval {args.interval} must both be positive seconds"
        )
    configure_logging("wait-for", os.environ.get("LOG_LEVEL", "INFO"))
    waited = wait_for(
        args.url,
        args.file,
        timeout=args.timeout,
        interval=args.interval,
        max_age=args.max_age,
        any_files=args.any_file,
    )
    if args.url or args.file or args.any_file:
        ready = [*args.url, *map(str, args.file)]
        ready += [f"one of {len(args.any_file)} files"] if args.any_file else []
        logger.info("ready after %.1f s: %s", waited, ", ".join(ready))
    if not command:
        return 0
    logging.shutdown()
    os.execvp(command[0], command)
    return 0  # not reached
