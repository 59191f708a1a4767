"""``rendezvous-di config``: the effective settings and where each value came from."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .common import add_rendezvous_flags, add_shared_flags, container_from_args, warn_about_policy

NAME = "config"
HELP = "show the effective settings and where each value came from"


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(NAME, help=HELP, description=HELP)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_shared_flags(parser)
    add_rendezvous_flags(parser)
    parser.set_defaults(command_main=main)


def main(args: argparse.Namespace) -> int:
    from .render import table

    out = sys.stdout
    settings = container_from_args(args).settings()
    warn_about_policy(settings, sys.stderr)
    values = settings.to_dict()
    if args.json:
        json.dump({"values": values, "sources": _all_sources(settings, values)}, out, indent=2)
        out.write("\n")
        return 0
    rows = [(key, value, source) for key, (value, source) in _flatten(settings, values).items()]
    table(rows, ("SETTING", "VALUE", "SOURCE"), out)
    return 0


def _flatten(settings: Any, values: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    flat: dict[str, tuple[Any, str]] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            for inner, item in value.items():
                shown = (",".join(item) or "-") if isinstance(item, list) else item
                flat[f"{key}.{inner}"] = (shown, settings.source_of(f"{key}.{inner}"))
        else:
            flat[key] = (value if value != {} else "{}", settings.source_of(key))
    return flat


def _all_sources(settings: Any, values: dict[str, Any]) -> dict[str, str]:
    return {key: source for key, (_, source) in _flatten(settings, values).items()}
