# PYTHON_ARGCOMPLETE_OK (argcomplete's marker: this console script answers completions)
"""The ``rendezvous-di`` command line: one module per command, dispatched here.

Bad input exits with code 2 and a first stderr line starting ``error:``;
tracebacks only with ``--debug``. ``backends`` and ``config`` never import
torch (unless a plugin is selected or loaded); ``run`` is torchrun's launcher
with the rendezvous taken from the container. A new command is one module
with ``NAME``, ``HELP``, ``add_parser`` and ``main``, plus its entry in
`COMMANDS`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from .._version import __version__
from ..errors import RendezvousDIError
from ..text import one_line
from . import backends, check, checks, completion, config, run, schema, signals, streams
from .common import EXAMPLES, PROG, CliParser, add_debug_flag

COMMANDS = (backends, config, check, checks, run, schema, completion)


def build_parser() -> CliParser:
    parser = CliParser(
        prog=PROG,
        description="PyTorch elastic rendezvous backends behind a dependency-injector container.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    add_debug_flag(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script and of ``python -m rendezvous_di``."""
    if "_ARGCOMPLETE" in os.environ:  # a shell asks for completions: answer, exit
        from .completers import complete

        complete(build_parser())
    streams.ensure_stdout()
    try:
        return streams.finish(_run(argv))
    except SystemExit as done:  # --help, --version, usage errors: their output is flushed too
        if done.code is not None and not isinstance(done.code, int):
            raise
        return streams.finish(done.code or 0)
    except OSError as error:
        if not streams.is_output_failure(error):
            raise
        return streams.output_failed(error, 0)
    except UnicodeEncodeError as error:
        code = streams.encoding_failed(error, 0)
        if code is None:
            raise
        return code


def _run(argv: Sequence[str] | None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = False
    while arguments and arguments[0] == "--debug":
        debug = True
        arguments.pop(0)
    try:
        if arguments and arguments[0] == run.NAME:
            return run.main(arguments[1:], debug=debug)
        with signals.stop_signals(_stopped_line):
            args = build_parser().parse_args(arguments)
            debug = debug or args.debug
            code: int = args.command_main(args)
        return code
    except RendezvousDIError as error:
        if debug:
            raise
        streams.report(f"error: {one_line(str(error))}")
        return 2
    except (KeyboardInterrupt, signals.StopSignal) as error:
        if debug:
            raise
        sigval = getattr(error, "sigval", signal.SIGINT)
        with signals.ignoring_stop_signals():
            streams.report(_stopped_line(sigval))
        return signals.exit_code(sigval)  # the shell's code: 130 (SIGINT), 143 (SIGTERM)


def _stopped_line(sigval: signal.Signals) -> str:
    """A command other than ``run`` stopped by a signal (Ctrl-C: "interrupted")."""
    return "error: interrupted" if sigval == signal.SIGINT else f"error: stopped by {sigval.name}"
