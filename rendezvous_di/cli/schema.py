"""``rendezvous-di schema``: the JSON Schema of the settings file, for editors.

Printed as JSON with a stable key order and a trailing newline, so a checked-in
copy changes only when the settings or a backend's options do. The backends are
the container's (``--container``), under its plugin policy (``--config``'s
``plugins`` block); a plugin's options are read by loading it in a child process.
With ``--config-key KEY`` the settings sit under KEY of a platform's own file.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..paths import open_for_writing
from ..text import quote
from .common import add_shared_flags, container_from_args
from .timeout import SLOW_PLUGIN_FIX, add_timeout_flag

NAME = "schema"
HELP = "print the JSON Schema (draft 2020-12) of the settings file, for editors"
DEFAULT_TIMEOUT = 60.0


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(NAME, help=HELP, description=HELP)
    parser.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write the schema to FILE instead of standard output",
    )
    add_timeout_flag(parser, DEFAULT_TIMEOUT, "loading plugins to read their options")
    add_shared_flags(parser)
    parser.set_defaults(command_main=main)


def render(schema: dict[str, Any]) -> str:
    """The schema as the command prints it: indented JSON, keys in their order, one newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(args: argparse.Namespace) -> int:
    from ..backends.deadline import Deadline, ProbeTimeout
    from ..errors import ConfigError
    from ..registry.json_schema import settings_file_schema
    from ..text import one_line

    if args.output == "":
        raise ConfigError("--output", "", "the path is empty; expected a file to write")
    key = args.config_key
    if key is not None and (not key.strip() or any(not p.strip() for p in key.split("."))):
        raise ConfigError("--config-key", key, f"{quote(key)} is not a dotted key (an empty part)")
    if args.config is None:
        args.config_key = None  # no file to read a policy from: KEY shapes the schema only
    container = container_from_args(args)
    try:
        schema = settings_file_schema(container, under=key, deadline=Deadline(args.timeout))
    except ProbeTimeout as error:  # a plugin whose import hangs: killed with its child, named
        sys.stderr.write(f"error: {one_line(str(error))}\n")
        sys.stderr.write(SLOW_PLUGIN_FIX)
        return 1
    text = render(schema)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        with open_for_writing(args.output) as out:
            out.write(text)
    except OSError as error:
        raise ConfigError(
            "--output", args.output, f"{quote(args.output)}: {error.strerror or error}"
        ) from None
    return 0
