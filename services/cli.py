"""The ``deepclean`` command: one subcommand per tool or service.

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` (cheap: no
heavy imports) and ``run(args) -> int`` (does the work). Settings errors print one line
per bad setting and exit with status 2; other expected failures (an error this project
raises on purpose, a path the system refuses, a file that is not text, memory) print one
line and exit with status 1. Anything else is a bug: its traceback, a line asking to
report it, and status 70.

The steps every subcommand repeats live here once: :func:`settings_command` (the
``add_parser`` of a subcommand whose flags are the fields of its settings class, with
:func:`leading_flags` before them), :func:`plain_command` (a subcommand whose flags its module
adds itself), :func:`add_switch` (an off-by-default ``--flag``), :func:`command_settings`,
:func:`profiled_settings` and :func:`locked_settings` (settings from the given flags and the
other layers, logging tagged with the subcommand's name, the service's lock), and
:func:`run_until_signal` (a service's loop under its lock until SIGINT/SIGTERM).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import traceback
from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from deepclean.utils.errors import BUG_EXIT, BUG_HINT, ConfigError, DeepCleanError, expected_failure

if TYPE_CHECKING:
    from deepclean.utils.locks import ServiceLock

#: subcommand -> module providing add_parser() and run()
SUBCOMMANDS: dict[str, str] = {
    "simulate": "deepclean.services.simulate.cli",
    "train": "deepclean.services.trainer.train_cli",
    "clean-offline": "deepclean.services.offline.cli",
    "validate": "deepclean.services.validate.cli",
    "trainer": "deepclean.services.trainer.cli",
    "export-model": "deepclean.services.exporter.export_cli",
    "exporter": "deepclean.services.exporter.cli",
    "monitor": "deepclean.services.monitor.cli",
    "triton": "deepclean.services.triton.cli",
    "cleaner": "deepclean.services.cleaner.cli",
    "cleaning": "deepclean.services.cleaning.cli",
    "up": "deepclean.services.up.cli",
    "wait-for": "deepclean.services.up.wait_cli",
    "soak": "deepclean.services.soak.cli",
}


S = TypeVar("S")


class Service(Protocol):
    """A long-running loop: ``run()`` until ``stop()`` (called from a signal handler)."""

    def run(self) -> Any: ...

    def stop(self) -> None: ...


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    parser = argparse.ArgumentParser(
        prog="deepclean",
        description="DeepClean: low-latency regression of witness-coupled noise from "
        "gravitational-wave strain.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = {}
    for name, module_name in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        module.add_parser(subparsers)
        modules[name] = module
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].run(args) or 0)
    except ConfigError as exc:
        for line in _redact(str(exc)).splitlines():
            print(f"deepclean {args.command}: error: {line}", file=sys.stderr)
        return 2
    except DeepCleanError as exc:
        print(f"deepclean {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place that sorts user mistakes from bugs
        line = expected_failure(exc)
        if line is not None:
            print(f"deepclean {args.command}: error: {line}", file=sys.stderr)
            return 1
        traceback.print_exc()
        print(f"deepclean {args.command}: error: {BUG_HINT}", file=sys.stderr)
        return BUG_EXIT


def _redact(text: str) -> str:
    """``text`` without torch's advice to load a file with ``weights_only=False`` (never to be
    followed for a file one does not trust); the unpickler's reason is kept."""
    if "weights_only" not in text:
        return text
    detail = re.search(r"WeightsUnpickler error: ([^\n]*)", text)
    safe = "torch's safe loader refused it" + (f": {detail.group(1).strip()}" if detail else "")
    text = re.sub(r"Weights only load failed.*", safe, text, flags=re.S)
    return text + ")" * (text.count("(") - text.count(")"))


def _one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (multi-line messages are joined with '; ')."""
    text = _redact(str(exc))
    return (
        "; ".join(line.strip() for line in text.splitlines() if line.strip()) or type(exc).__name__
    )


# ---------------------------------------------------------------- what every subcommand shares


def settings_command(
    name: str,
    cls: type,
    help: str,
    description: str,
    exclude: Collection[str] = frozenset(),
    first: Callable[[argparse.ArgumentParser], None] | None = None,
) -> Callable[[argparse._SubParsersAction], argparse.ArgumentParser]:
    """The ``add_parser`` of ``deepclean <name>``: its flags are the fields of the settings class
    ``cls`` but those in ``exclude`` (settings the command does not use), after the flags
    ``first`` adds (see :func:`leading_flags`); ``description`` is shown as written."""

    def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
        from deepclean.utils.config import add_command

        return add_command(
            subparsers,
            name,
            cls,
            help=help,
            description=description,
            exclude=set(exclude),
            first=first,
        )

    return add_parser


def plain_command(
    subparsers: argparse._SubParsersAction, name: str, help: str, description: str
) -> argparse.ArgumentParser:
    """``deepclean <name>`` with its ``description`` shown as written; the caller adds its flags."""
    return subparsers.add_parser(
        name,
        help=help,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_switch(parser: argparse.ArgumentParser, flag: str, help: str) -> None:
    """An on/off ``flag`` (e.g. ``--overwrite``), off unless given."""
    parser.add_argument(flag, action="store_true", default=False, help=help)


def leading_flags(
    *, profile: bool = False, **switches: str
) -> Callable[[argparse.ArgumentParser], None]:
    """The ``first`` of ``add_command``: the flags that lead the usage line, ``--profile`` (with
    ``profile``) and then one off-by-default switch per keyword (``allow_worse="help"`` is
    ``--allow-worse``)."""

    def add(parser: argparse.ArgumentParser) -> None:
        from deepclean.utils.training.settings import add_profile_flag

        if profile:
            add_profile_flag(parser)
        for name, text in switches.items():
            add_switch(parser, f"--{name.replace('_', '-')}", text)

    return add


def command_settings(args: argparse.Namespace, cls: type[S]) -> S:
    """``cls`` from the flags given to ``deepclean <args.command>`` over the environment, .env,
    pyproject and the defaults; logging configured at its ``log_level``, tagged with the
    subcommand's name."""
    from deepclean.utils.config import given_flags, load_settings
    from deepclean.utils.logs import configure_logging

    settings = load_settings(cls, given_flags(args, cls))
    configure_logging(args.command, settings.log_level)
    return settings


def locked_settings(args: argparse.Namespace, cls: type[S]) -> tuple[S, ServiceLock]:
    """As :func:`command_settings`, and the lock that makes this process the one
    ``deepclean <args.command>`` of its IFO in the project (ResourceError when another holds
    it)."""
    from deepclean.utils.locks import lock_service

    settings = command_settings(args, cls)
    return settings, lock_service(settings.project_dir, args.command, settings.ifo)


def profiled_settings(
    args: argparse.Namespace, cls: type[S], required: Iterable[str] = ()
) -> tuple[S, str]:
    """As :func:`command_settings`, with the chosen ``--profile`` between the pyproject tables
    and the environment; ConfigError when a setting in ``required`` is unset. Returns the
    settings and the profile's name."""
    from deepclean.utils.config import require
    from deepclean.utils.logs import configure_logging
    from deepclean.utils.training.settings import load_profiled_settings

    settings, profile = load_profiled_settings(cls, args)
    require(settings, required)
    configure_logging(args.command, settings.log_level)
    return settings, profile


def run_until_signal(service: Service, lock: ServiceLock) -> Any:
    """``service.run()``'s result; SIGINT/SIGTERM call ``service.stop()``; ``lock`` (a held
    :class:`~deepclean.utils.locks.ServiceLock`) is released however the run ends."""
    from deepclean.utils.signals import stop_on_signals

    try:
        with stop_on_signals(lambda _: service.stop()):
            return service.run()
    finally:
        lock.release()


if __name__ == "__main__":
    sys.exit(main())
