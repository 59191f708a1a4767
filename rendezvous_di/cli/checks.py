"""``rendezvous-di checks [NAME]``: every admission check with its kind, origin and options.

Built-ins, the container's own (`add_check`) and installed
``rendezvous_di.checks`` plugins; a plugin is described in a child process,
so one that fails to load is listed as failed (with why) instead of ending
the command. An unknown NAME is a usage error with a did-you-mean.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import ConfigError
from ..text import did_you_mean, one_line, quote
from .common import add_shared_flags, container_from_args

NAME = "checks"
HELP = "list the admission checks (--admission) with their kind, origin and options"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(NAME, help=HELP, description=HELP)
    parser.add_argument("name", nargs="?", metavar="NAME", help="show only this check")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_shared_flags(parser)
    parser.set_defaults(command_main=main)


def describe_checks(container: Any, name: str | None = None) -> list[dict[str, Any]]:
    """Every available check (or ``name``) as plain data: kind, origin, summary, options, state."""
    from ..admission.entries import available, resolve

    entries = available(container.checks)
    if name is not None:
        if name not in entries:
            raise ConfigError(
                "check",
                name,
                f"{quote(name)} is not an admission check",
                choices=sorted(entries),
                hint=did_you_mean(name, entries),
            )
        entries = {name: entries[name]}
    listed: list[dict[str, Any]] = []
    for check_name, provider in entries.items():
        try:
            check = resolve(check_name, provider)
        except ConfigError as error:
            listed.append({"name": check_name, "state": "failed", "reason": error.problem})
            continue
        listed.append(
            {
                "name": check_name,
                "state": "available",
                "kind": check.kind,
                "origin": check.origin,
                "distribution": check.distribution,
                "summary": check.summary,
                "options": {o.name: o.declaration() for o in check.schema.options},
            }
        )
    return listed


def main(args: argparse.Namespace) -> int:
    from .render import table

    out = sys.stdout
    listed = describe_checks(container_from_args(args), args.name)
    if args.json:
        json.dump(listed, out, indent=2, default=str)
        out.write("\n")
        return 0
    rows = [
        (
            c["name"],
            c.get("kind", "-"),
            c.get("origin", "-"),
            c["state"],
            one_line(c.get("summary") or c.get("reason") or ""),
        )
        for c in listed
    ]
    table(rows, ("CHECK", "KIND", "ORIGIN", "STATE", "SUMMARY"), out)
    for check in listed:
        if check["state"] != "available":
            continue
        out.write(f"\n{check['name']} options:\n")
        option_rows = [
            (name, o["type"], o["default"], o["help"]) for name, o in check["options"].items()
        ]
        table(option_rows, ("OPTION", "TYPE", "DEFAULT", "HELP"), out)
    return 0
