"""``rendezvous-di completion bash|zsh``: the shell code that completes ``rendezvous-di``.

``eval "$(rendezvous-di completion bash)"`` in ``~/.bashrc`` (or ``zsh`` in
``~/.zshrc``). The code is argcomplete's: the shell runs ``rendezvous-di``
with argcomplete's protocol, answered by `rendezvous_di.cli.completers`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import PROG, add_debug_flag

NAME = "completion"
HELP = "print the shell code that completes rendezvous-di (bash or zsh)"
SHELLS = ("bash", "zsh")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        NAME,
        help=HELP,
        description=f'{HELP}; for example, in ~/.bashrc: eval "$({PROG} completion bash)"',
    )
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    add_debug_flag(parser)
    parser.set_defaults(command_main=main)


def main(args: argparse.Namespace) -> int:
    from argcomplete.shell_integration import shellcode

    sys.stdout.write(shellcode([PROG], shell=args.shell))
    return 0
