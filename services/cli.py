"""The ``deepclean`` command: one subcommand per tool or service.

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` (cheap: no
heavy imports) and ``run(args) -> int`` (does the work). Settings errors print one line
per bad setting and exit with status 2; other expected failures (an error this project
raises on purpose, a path the system refuses, a file that is not text, memory) print one
line and exit with status 1. Anything else is a bug: its traceback, a line asking to
report it, and status 70.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import traceback

from deepclean.utils.errors import BUG_EXIT, BUG_HINT, ConfigError, DeepCleanError, expected_failure

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


if __name__ == "__main__":
    sys.exit(main())
