"""``deepclean cleaning disable|enable|status``: the kill switch (see the package docstring)."""

from __future__ import annotations

import argparse
import logging
from typing import ClassVar

from deepclean.services.cli import plain_command

DESCRIPTION = """\
The kill switch. `disable` makes the cleaner write OUT_DQ = the raw strain (state bit
CLEANING_DISABLED set) for every frame it writes from the next one on, and stops the monitor
promoting or rolling back; `enable` turns cleaning back on; `status` shows the switch of
every IFO in the project directory. The switch is a file in $PROJECT_DIR/cleaning/ (it
survives restarts of every service); each change is recorded in $PROJECT_DIR/audit.jsonl.
No service needs to be running or restarted.

examples:
  deepclean cleaning disable --project-dir ./project --ifo H1 --reason "glitchy witness, ticket 123"
  deepclean cleaning status --project-dir ./project
  deepclean cleaning enable --project-dir ./project --ifo H1 --reason "witness fixed"
"""

HELP = "the kill switch: turn cleaning off or on, or show it"

logger = logging.getLogger(__name__)


def _settings_class():
    from deepclean.utils.config import SharedSettings

    class CleaningSettings(SharedSettings):
        """Where the switch lives (``project_dir``) and for which IFO."""

        service: ClassVar[str] = "cleaning"

    return CleaningSettings


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from deepclean.utils.config import add_settings_flags

    parser = plain_command(subparsers, "cleaning", HELP, DESCRIPTION)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    settings = _settings_class()
    keep = {"project_dir", "ifo", "log_level"}
    exclude = set(settings.model_fields) - keep
    for action, text in (
        ("disable", "turn cleaning off: OUT_DQ = raw strain, no promotion or rollback"),
        ("enable", "turn cleaning on again"),
        ("status", "show the switch of each IFO"),
    ):
        sub = actions.add_parser(
            action, help=text, description=f"{text}. {DESCRIPTION.splitlines()[0]}"
        )
        add_settings_flags(sub, settings, exclude=exclude)
        if action != "status":
            sub.add_argument(
                "--reason",
                required=True,
                help="why (required; recorded in the switch file and the audit log)",
            )
    return parser


def run(args: argparse.Namespace) -> int:
    from deepclean.services.cli import command_settings
    from deepclean.utils.audit import Actor, AuditAction, append_audit
    from deepclean.utils.config import given_flags
    from deepclean.utils.ifo import IFO
    from deepclean.utils.kill_switch import SWITCH_DIR, read_switch, set_switch

    cls = _settings_class()
    settings = command_settings(args, cls)
    project = settings.project_dir
    if args.action == "status":
        given = "ifo" in given_flags(args, cls)
        folder = project / SWITCH_DIR
        ifos = (
            [settings.ifo]
            if given
            else sorted(
                {IFO(p.stem) for p in folder.glob("*.json") if p.stem in IFO.__members__}
                | {settings.ifo}
            )
        )
        for ifo in ifos:
            print(f"{ifo}: {read_switch(project, ifo).describe()}")
        return 0
    enabled = args.action == "enable"
    before = read_switch(project, settings.ifo)
    try:
        state = set_switch(project, settings.ifo, enabled=enabled, reason=args.reason)
    except ValueError as exc:
        from deepclean.utils.errors import ConfigError

        raise ConfigError(f"--reason {args.reason!r}: {exc}") from None
    append_audit(
        project,
        AuditAction.CLEANING_ENABLED if enabled else AuditAction.CLEANING_DISABLED,
        Actor.CLI,
        ifo=str(settings.ifo),
        evidence={
            "reason": state.reason,
            "user": state.user,
            "was": "on" if before.enabled else "off",
        },
    )
    print(f"{settings.ifo}: {state.describe()}")
    return 0
