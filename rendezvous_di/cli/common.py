"""What every command shares: the error contract, the shared flags, the container they build.

Each flag is defined here once: ``--config`` (or ``--profile``), ``--container`` and ``--debug``
for every command (``run`` adds them to torch's own parser), the torchrun
rendezvous flags for the commands that do not reuse torch's parser.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from ..config.schedulers.flag import add_scheduler_flag, scheduler_flag
from ..config.torchrun import TORCHRUN_OPTIONS
from ..errors import ConfigError
from ..text import one_line

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
    """argparse with our error contract."""

    def error(self, message: str) -> NoReturn:
        fail(self.prog, message)


def profile_file(name: str) -> str:
    """``--profile NAME`` as the file it names; an unknown name is a usage error (exit 2)."""
    from ..config.profiles import profile_path
    from ..errors import ConfigError

    try:
        return str(profile_path(name))
    except ConfigError as error:
        # argparse already names the flag ("argument --profile: ..."): drop our field prefix.
        raise argparse.ArgumentTypeError(str(error).removeprefix("profile: ")) from None


def add_shared_flags(parser: argparse.ArgumentParser) -> None:
    """``--config``/``--profile``, ``--container``, ``--debug``: the flags every command takes."""
    settings_file = parser.add_mutually_exclusive_group()
    settings_file.add_argument(
        "--config", metavar="FILE", help="YAML file with the settings keys (lowest precedence)"
    )
    settings_file.add_argument(
        "--profile",
        dest="config",
        metavar="NAME",
        type=profile_file,
        help="a deployment profile shipped with rendezvous-di, by name (containers/NAME.yaml: "
        "c10d, local, static, ...), read like --config",
    )
    from ..run import add_config_key_flag

    add_config_key_flag(parser)
    parser.add_argument(
        "--container",
        dest="container_spec",
        metavar="MODULE:NAME",
        help="a platform's container: a RendezvousContainer or one nesting it as 'rendezvous', "
        "as a container class, an instance, or a factory (a callable taking no argument that "
        "returns a configured container)",
    )
    add_scheduler_flag(parser)
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


def add_rendezvous_flags(parser: argparse.ArgumentParser) -> None:
    """The torchrun rendezvous flags (both spellings), read with their PET_* twins."""
    group = parser.add_argument_group("rendezvous (torchrun flags; PET_* variables are read too)")
    for option in TORCHRUN_OPTIONS:
        names = list(dict.fromkeys([option.flag, "--" + option.flag[2:].replace("-", "_")]))
        help_text = f"{option.help} (env {option.env})"
        if option.key == "standalone":
            group.add_argument(
                *names, dest=option.key, action="store_true", default=None, help=help_text
            )
        else:
            group.add_argument(*names, dest=option.key, metavar="VALUE", help=help_text)


def new_container(spec: str | None) -> Any:
    """A fresh ``RendezvousContainer``, or the one a ``--container MODULE:NAME`` points at."""
    if spec is not None:  # --container "" is an error, not the default container
        from .locate import load_container

        return load_container(spec)
    from ..container import RendezvousContainer

    return RendezvousContainer()


def container_for(args: argparse.Namespace, flags: dict[str, Any]) -> Any:
    """A container fed with this command's sources: ``--config`` file, environment, ``flags``."""
    if args.config == "":  # every command refuses it, even one that may not read the file
        raise ConfigError("--config", "", "the path is empty; expected a YAML file")
    container = new_container(args.container_spec)
    if args.config is not None:  # --config "" is an error, not "no file"
        container.config_file.override(args.config)
    if args.config_key is not None:
        container.config_key.override(args.config_key)
    container.flags.override({**flags, **scheduler_flag(args)})
    return container


def container_from_args(args: argparse.Namespace) -> Any:
    """The container of a command parsed with `add_rendezvous_flags`."""
    return container_for(args, {o.key: getattr(args, o.key) for o in TORCHRUN_OPTIONS})


def warn_about_policy(settings: Any, err: Any) -> None:
    """Warn about ``plugins`` names that match nothing installed (after the settings validated:
    the first stderr line of a failing command is its ``error:``)."""
    if not (settings.plugins.allow or settings.plugins.override_builtins):
        return
    from ..plugins.spec import discover
    from ..registry.policy import policy_warnings

    for line in policy_warnings(settings.plugins, discover()):
        err.write(one_line(line) + "\n")
