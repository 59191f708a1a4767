"""What every command shares: the error contract, the shared flags, the container they build.

The flags every command shares (``--config`` or ``--profile``, ``--config-key``,
``--scheduler``, ``--container``, ``--debug``; ``run`` adds them to torch's own
parser), built from the definitions in `rendezvous_di.config.flags`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from ..arguments import configure
from ..config.flags import add_rendezvous_flags, add_settings_flags
from ..locate import new_container
from ..plugins.spec import discover
from ..registry.policy import policy_warnings
from ..text import one_line
from .streams import print_message

__all__ = [
    "EXAMPLES",
    "PROG",
    "CliParser",
    "add_debug_flag",
    "add_rendezvous_flags",
    "add_shared_flags",
    "add_show_secrets_flag",
    "container_from_args",
    "fail",
    "warn_about_policy",
]

PROG = "rendezvous-di"

EXAMPLES = """\
examples:
  rendezvous-di run --standalone --nproc-per-node 2 train.py
  rendezvous-di run --nnodes 2 --node-rank 0 --master-addr head --master-port 29500 train.py
  rendezvous-di run --config containers/c10d.yaml --nproc-per-node 4 train.py --epochs 3
  rendezvous-di run --profile c10d --nproc-per-node 4 train.py   (the same file, by name)
  PET_RDZV_BACKEND=etcd-v2 PET_RDZV_ENDPOINT=etcd:2379 PET_NNODES=2:4 rendezvous-di run train.py
  srun --ntasks-per-node=1 rendezvous-di run --nproc-per-node 4 train.py   (Slurm's nodes and id)
  rendezvous-di backends
  rendezvous-di config --config containers/local.yaml --rdzv-conf join_timeout=60 --json
  rendezvous-di run --dry-run --nnodes 2 --node-rank 0 --master-addr head train.py
  rendezvous-di config --rdzv-backend c10d --nnodes 1:4 --format yaml > job.yaml

Settings, lowest precedence first: defaults < detected scheduler (Slurm, Kubeflow; see
--scheduler) < --config FILE (or --profile NAME) < PET_* environment < flags.
"""


def fail(prog: str, message: str) -> NoReturn:
    """The error contract: ``error: ...`` first on stderr, exit code 2, no usage dump."""
    sys.stderr.write(f"error: {one_line(message)}\n(see '{prog} --help')\n")
    raise SystemExit(2)


class CliParser(argparse.ArgumentParser):
    """argparse with our error contract; output it cannot write (``--help`` to a full disk)
    is an error, not silently dropped."""

    def error(self, message: str) -> NoReturn:
        fail(self.prog, message)

    def _print_message(self, message: str, file: Any = None) -> None:
        print_message(message, file)


def add_shared_flags(parser: argparse.ArgumentParser) -> None:
    """The settings flags (``--config`` or ``--profile``...), ``--container``, ``--debug``."""
    add_settings_flags(parser, profiles=True)
    parser.add_argument(
        "--container",
        dest="container_spec",
        metavar="MODULE:NAME",
        help="a platform's container: a RendezvousContainer or one nesting it as 'rendezvous', "
        "as a container class, an instance, or a factory (a callable taking no argument that "
        "returns a configured container)",
    )
    add_debug_flag(parser)


def add_show_secrets_flag(parser: argparse.ArgumentParser) -> None:
    """``--show-secrets``: print secret backend options (a ``password``) instead of ``***``."""
    parser.add_argument(
        "--show-secrets",
        action="store_true",
        help="print secret backend options (conf password) instead of masking them",
    )


def add_debug_flag(parser: argparse.ArgumentParser) -> None:
    """``--debug``: before the command (``rendezvous-di --debug run``) or after it."""
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def container_from_args(args: argparse.Namespace) -> Any:
    """The container a command's flags name (``--container``), fed with its sources."""
    container = new_container(args.container_spec)
    configure(container, args)
    return container


def warn_about_policy(settings: Any, err: Any) -> None:
    """Warn about ``plugins`` names that match nothing installed (after the settings validated:
    the first stderr line of a failing command is its ``error:``)."""
    if not (settings.plugins.allow or settings.plugins.override_builtins):
        return
    for line in policy_warnings(settings.plugins, discover()):
        err.write(one_line(line) + "\n")
