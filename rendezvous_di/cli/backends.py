"""``rendezvous-di backends``: every backend with its source, status and options."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .common import add_rendezvous_flags, add_shared_flags, container_from_args

NAME = "backends"
HELP = "list every backend with its source, status and options"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(NAME, help=HELP, description=HELP)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--load",
        action="store_true",
        help="import every plugin the policy allows, to report load failures and list options",
    )
    add_shared_flags(parser)
    add_rendezvous_flags(parser)
    parser.set_defaults(command_main=main)


def main(args: argparse.Namespace) -> int:
    from ..backends.listing import describe_backends
    from ..plugins.isolation import loading_in_a_child
    from .render import table

    out = sys.stdout
    container = container_from_args(args)
    # --load imports plugins in one child process: one that kills its process or
    # raises KeyboardInterrupt at import is listed as failed, with how it ended.
    with loading_in_a_child():
        infos = describe_backends(container, load=args.load)
    if args.json:
        out.write(json.dumps([i.to_json() for i in infos], indent=2))  # one write, not thousands
        out.write("\n")
        return 0
    table(
        [(i.name, i.source, i.status, _distribution(i), i.reason or i.summary) for i in infos],
        ("BACKEND", "SOURCE", "STATUS", "DISTRIBUTION", "DESCRIPTION"),
        out,
    )
    for info in infos:
        if info.options and info.status != "shadowed":
            out.write(f"\n{info.name} options:\n")
            table(
                [(o.name, o.type_name, o.default, _option_note(o)) for o in info.options],
                ("OPTION", "TYPE", "DEFAULT", "DESCRIPTION"),
                out,
            )
    if not args.load and any(i.status == "not loaded" for i in infos):
        # A plugin's options are an attribute of its creator: known once it is imported.
        out.write("\nplugins not loaded yet: rendezvous-di backends --load lists their options\n")
    return 0


def _distribution(info: Any) -> str | None:
    if info.distribution is None:
        return None
    return f"{info.distribution} {info.version}" if info.version else str(info.distribution)


def _option_note(option: Any) -> str:
    if option.required:
        return f"{option.help} (required)"
    return str(option.help)
