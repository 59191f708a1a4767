"""``rendezvous-di config``: the effective settings and where each value came from.

``--format`` says how: a table (the default), ``json`` (``--json``), ``yaml``
(a ``--config`` file giving the same effective values) or ``env`` (torchrun's
``PET_*`` lines).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..config.flags import add_admission_flag
from .common import (
    add_rendezvous_flags,
    add_shared_flags,
    add_show_secrets_flag,
    container_from_args,
    warn_about_policy,
)

NAME = "config"
HELP = "show the effective settings and where each value came from"
FORMATS = ("table", "json", "yaml", "env")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(NAME, help=HELP, description=HELP)
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (default); json; yaml: a --config file giving the same effective values; "
        "env: torchrun's PET_* variables",
    )
    output.add_argument(
        "--json",
        dest="format",
        action="store_const",
        const="json",
        help="the same as --format json",
    )
    add_show_secrets_flag(parser)
    add_shared_flags(parser)
    add_rendezvous_flags(parser)
    add_admission_flag(parser, what="as run would select them")
    parser.set_defaults(command_main=main)


def main(args: argparse.Namespace) -> int:
    from .render import table

    out = sys.stdout
    from ..preflight import validate_for_run

    container = container_from_args(args)
    # The files the settings name (TLS certificates) are read as the job would read them:
    # a settings file that `config` shows without complaint must not fail `run` later.
    settings, _ = validate_for_run(container)
    warn_about_policy(settings, sys.stderr)
    if args.format == "yaml":
        from .settings_yaml import as_yaml

        out.write(as_yaml(settings, show_secrets=args.show_secrets))
        return 0
    if args.format == "env":
        from ..registry.catalog import selected_description
        from .torchrun_text import env_text

        description = selected_description(container, settings)
        out.write(
            env_text(settings, description, args.container_spec, show_secrets=args.show_secrets)
        )
        return 0
    values = settings.to_dict()
    if args.format == "json":
        json.dump({"values": values, "sources": _all_sources(settings, values)}, out, indent=2)
        out.write("\n")
        return 0
    rows = [(key, value, source) for key, (value, source) in _flatten(settings, values).items()]
    table(rows, ("SETTING", "VALUE", "SOURCE"), out)
    return 0


def _flatten(settings: Any, values: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    flat: dict[str, tuple[Any, str]] = {}
    for key, value in values.items():
        if key == "admission":
            from ..config.admission import as_text

            flat[key] = (as_text(value) or "-", settings.source_of(key))
            continue
        if isinstance(value, dict) and value:
            for inner, item in value.items():
                shown = (",".join(item) or "-") if isinstance(item, list) else item
                flat[f"{key}.{inner}"] = (shown, settings.source_of(f"{key}.{inner}"))
        else:
            flat[key] = (value if value != {} else "{}", settings.source_of(key))
    return flat


def _all_sources(settings: Any, values: dict[str, Any]) -> dict[str, str]:
    return {key: source for key, (_, source) in _flatten(settings, values).items()}
