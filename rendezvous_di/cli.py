"""The ``rendezvous-di`` command line: ``backends``, ``config`` and ``run``.

Bad input exits with code 2 and a first stderr line starting ``error:``;
tracebacks only with ``--debug``. ``backends`` and ``config`` never import
torch; ``run`` is torchrun's launcher with the rendezvous taken from the
container (see :mod:`rendezvous_di.launch`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

from ._version import __version__
from .errors import RendezvousDIError
from .sources import TORCHRUN_OPTIONS

EXAMPLES = """\
examples:
  rendezvous-di run --standalone --nproc-per-node 2 train.py
  rendezvous-di run --config containers/c10d.yaml --nproc-per-node 4 train.py --epochs 3
  PET_RDZV_BACKEND=etcd-v2 PET_RDZV_ENDPOINT=etcd:2379 PET_NNODES=2:4 rendezvous-di run train.py
  rendezvous-di backends
  rendezvous-di config --config containers/local.yaml --rdzv-conf join_timeout=60 --json

Settings, lowest precedence first: defaults < --config FILE < PET_* environment < flags.
"""


class CliParser(argparse.ArgumentParser):
    """argparse with our error contract: ``error: ...`` first, exit code 2, no usage dump."""

    def error(self, message: str) -> NoReturn:
        fail(self.prog, message)


def fail(prog: str, message: str) -> NoReturn:
    sys.stderr.write(f"error: {message}\n(see '{prog} --help')\n")
    raise SystemExit(2)


def add_rendezvous_flags(parser: argparse.ArgumentParser) -> None:
    """The torchrun rendezvous flags (both spellings) and ``--config``."""
    group = parser.add_argument_group("rendezvous (torchrun flags; PET_* variables are read too)")
    group.add_argument("--config", metavar="FILE", help="YAML file with the settings keys")
    group.add_argument(
        "--container",
        dest="container_spec",
        metavar="MODULE:NAME",
        help="a platform's container (a RendezvousContainer or one nesting it as 'rendezvous')",
    )
    for option in TORCHRUN_OPTIONS:
        names = [option.flag, option.flag.replace("-", "_").replace("__", "--", 1)]
        names = list(dict.fromkeys(names))
        help_text = f"{option.help} (env {option.env})"
        if option.key == "standalone":
            group.add_argument(
                *names, dest=option.key, action="store_true", default=None, help=help_text
            )
        else:
            group.add_argument(*names, dest=option.key, metavar="VALUE", help=help_text)


def add_check_flags(parser: argparse.ArgumentParser) -> None:
    from .check import DEFAULT_TIMEOUT, positive_seconds

    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds the whole probe may take (default {DEFAULT_TIMEOUT:g})",
    )


def build_parser() -> CliParser:
    parser = CliParser(
        prog="rendezvous-di",
        description="PyTorch elastic rendezvous backends behind a dependency-injector container.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rendezvous-di {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in (
        ("backends", "list every backend with its source, status and options"),
        ("config", "show the effective settings and where each value came from"),
        ("check", "validate the settings and probe the backend: exit 0 ready, 1 unreachable"),
    ):
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "backends":
            command.add_argument(
                "--load",
                action="store_true",
                help="import every plugin the policy allows, to report load failures",
            )
        command.add_argument("--debug", action="store_true", help="show tracebacks")
        add_rendezvous_flags(command)
        if name == "check":
            add_check_flags(command)
    commands.add_parser(
        "run",
        help="torchrun with the rendezvous from the container (every torchrun flag, plus --config)",
        add_help=False,
    )
    return parser


def container_from_args(args: argparse.Namespace) -> Any:
    """A container fed with this command's sources: file, environment, flags."""
    container = new_container(getattr(args, "container_spec", None))
    if args.config:
        container.config_file.override(args.config)
    container.flags.override({o.key: getattr(args, o.key) for o in TORCHRUN_OPTIONS})
    return container


def new_container(spec: str | None) -> Any:
    """A fresh ``RendezvousContainer``, or the one a ``--container MODULE:NAME`` points at."""
    if spec:
        from .locate import load_container

        return load_container(spec)
    from .container import RendezvousContainer

    return RendezvousContainer()


def show_backends(args: argparse.Namespace, out: TextIO) -> None:
    from .catalog import describe_backends
    from .render import table

    infos = describe_backends(container_from_args(args), load=args.load)
    if args.json:
        out.write(json.dumps([i.to_json() for i in infos], indent=2))  # one write, not thousands
        out.write("\n")
        return
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


def _distribution(info: Any) -> str | None:
    if info.distribution is None:
        return None
    return f"{info.distribution} {info.version}" if info.version else str(info.distribution)


def _option_note(option: Any) -> str:
    if option.required:
        return f"{option.help} (required)"
    return str(option.help)


def show_config(args: argparse.Namespace, out: TextIO) -> None:
    from .render import table

    settings = (
        args.container.settings()
        if hasattr(args, "container")
        else (container_from_args(args).settings())
    )
    values = settings.to_dict()
    if args.json:
        json.dump({"values": values, "sources": _all_sources(settings, values)}, out, indent=2)
        out.write("\n")
        return
    rows = [(key, value, source) for key, (value, source) in _flatten(settings, values).items()]
    table(rows, ("SETTING", "VALUE", "SOURCE"), out)


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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and of ``python -m rendezvous_di``."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = False
    while arguments and arguments[0] == "--debug":
        debug = True
        arguments.pop(0)
    try:
        if arguments and arguments[0] == "run":
            from .launch import run

            return run(arguments[1:], debug=debug)
        args = build_parser().parse_args(arguments)
        debug = debug or args.debug
        if args.command == "backends":
            show_backends(args, sys.stdout)
        elif args.command == "config":
            show_config(args, sys.stdout)
        elif args.command == "check":
            from .check import run_check

            container = container_from_args(args)
            return run_check(container, args.timeout, sys.stdout, sys.stderr, as_json=args.json)
        return 0
    except RendezvousDIError as error:
        if debug:
            raise
        sys.stderr.write(f"error: {error}\n")
        return 2
    except BrokenPipeError:
        return 0
