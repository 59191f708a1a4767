"""``rendezvous-di backends [NAME]``: every backend with its source, status and options.

With a NAME, only that backend: each claimant's description, origin, status
and options table; an unknown NAME is a usage error with a did-you-mean.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..text import one_line, visible
from .common import add_rendezvous_flags, add_shared_flags, container_from_args
from .timeout import SLOW_PLUGIN_FIX, add_timeout_flag

NAME = "backends"
HELP = "list every backend with its source, status and options"
DEFAULT_TIMEOUT = 60.0  # every plugin's import, in one child: generous, but never a hang


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(NAME, help=HELP, description=HELP)
    parser.add_argument(
        "name",
        nargs="?",
        metavar="NAME",
        help="show only this backend: description, origin, status and options",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--load",
        action="store_true",
        help="import every plugin the policy allows, to report load failures and list options",
    )
    add_shared_flags(parser)
    add_rendezvous_flags(parser)
    add_timeout_flag(parser, DEFAULT_TIMEOUT, "loading plugins (--load, or NAME)")
    parser.set_defaults(command_main=main)


def main(args: argparse.Namespace) -> int:
    from ..backends.deadline import Deadline, ProbeTimeout
    from ..plugins.isolation import loading_in_a_child
    from ..registry.listing import describe_backends
    from .render import table

    out = sys.stdout
    container = container_from_args(args)
    # --load imports plugins in one child process: one that kills its process or
    # raises KeyboardInterrupt at import is listed as failed, with how it ended;
    # one whose import hangs is killed at the deadline and named.
    try:
        with loading_in_a_child(Deadline(args.timeout)):
            if args.name is not None:
                _load_selected_plugin(container, args.name)
            infos = describe_backends(container, load=args.load)
    except ProbeTimeout as error:
        sys.stderr.write(f"error: {one_line(str(error))}\n")
        sys.stderr.write(SLOW_PLUGIN_FIX)
        return 1
    if args.name is not None:
        return _show_one(args.name, infos, as_json=args.json, load=True)
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


def _load_selected_plugin(container: Any, name: str) -> None:
    """Asked about one plugin-served name: load the plugin that serves it, for its options.

    Only that one (the listing loads none), in a child process like ``--load``;
    a failure is recorded by its loader and shown as the row's status.
    """
    from ..plugins.loader import load_all

    claim = getattr(container.backends.providers.get(name), "claim", None)
    if claim is None:
        return
    decision = claim.decide(container.plugin_policy())
    if decision.kind == "plugin":
        load_all(decision.loaders[:1])


def _show_one(name: str, infos: list[Any], *, as_json: bool, load: bool) -> int:
    """The rows of ``name`` in full: one block per claimant, each with its options table."""
    from ..errors import UnknownBackendError
    from .render import table

    mine = [i for i in infos if i.name == name]
    if not mine:
        raise UnknownBackendError(name, {i.name for i in infos}, source="argument NAME")
    out = sys.stdout
    if as_json:
        out.write(json.dumps([i.to_json() for i in mine], indent=2))
        out.write("\n")
        return 0
    for number, info in enumerate(mine):
        if number:
            out.write("\n")
        fields = [
            ("backend", info.name),
            ("description", info.summary),
            ("origin", info.source),
            ("status", info.status),
            ("distribution", _distribution(info)),
        ]
        if info.reason:
            fields.append(("note", info.reason))
        for label, value in fields:
            out.write(f"{label + ':':<14}{'-' if value is None else visible(str(value))}\n")
        if info.options:
            out.write("options:\n")
            table(
                [(o.name, o.type_name, o.default, _option_note(o)) for o in info.options],
                ("OPTION", "TYPE", "DEFAULT", "DESCRIPTION"),
                out,
            )
        elif info.status == "not loaded" and not load:
            out.write(
                f"options:      not known until loaded: rendezvous-di backends {name} --load\n"
            )
        else:
            out.write("options:      none declared\n")
    return 0


def _distribution(info: Any) -> str | None:
    if info.distribution is None:
        return None
    return f"{info.distribution} {info.version}" if info.version else str(info.distribution)


def _option_note(option: Any) -> str:
    if option.required:
        return f"{option.help} (required)"
    return str(option.help)
