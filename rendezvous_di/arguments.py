"""Parsed command-line arguments as container configuration: one way for every command.

``run`` (and `rendezvous_di.run.main`), ``config``, ``check``, ``backends``,
``schema`` and shell completion all read the same flags (`rendezvous_di.config.flags`)
and feed a container the same way: ``--config``/``--profile`` become its
``config_file``, ``--config-key`` its ``config_key``, the torchrun rendezvous
flags and ``--scheduler`` its ``flags``. `configure` does it and returns what
it overrode, so a caller's own container gets its providers back.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .config.flags import ADMISSION_FLAG, SCHEDULER_FLAG
from .config.sources import FlagValue
from .config.torchrun import TORCHRUN_OPTIONS
from .errors import ConfigError


def flag_values(args: argparse.Namespace, leave_out: Iterable[str] = ()) -> dict[str, Any]:
    """The rendezvous flags and ``--scheduler`` as the container's ``flags``, by settings key.

    Flags a command does not take read as not given. ``leave_out`` names settings
    keys to ignore (completion leaves out the ``--rdzv-conf`` being typed).
    """
    skipped = set(leave_out)
    values: dict[str, Any] = {
        option.key: getattr(args, option.dest, None)
        for option in TORCHRUN_OPTIONS
        if option.key not in skipped
    }
    scheduler = getattr(args, "scheduler", None)
    if scheduler is not None and "scheduler" not in skipped:
        values["scheduler"] = FlagValue(scheduler, SCHEDULER_FLAG)
    admission = getattr(args, "admission", None)
    if admission is not None and "admission" not in skipped:
        values["admission"] = FlagValue(admission, ADMISSION_FLAG)
    return values


@dataclass(frozen=True)
class Overrides:
    """The providers `configure` overrode, newest last; `restore` undoes exactly those."""

    providers: tuple[Any, ...]

    def restore(self) -> None:
        for provider in reversed(self.providers):
            provider.reset_last_overriding()


def configure(
    container: Any, args: argparse.Namespace, *, leave_out: Iterable[str] = ()
) -> Overrides:
    """Feed ``container`` the sources ``args`` name: the settings file, its key, the flags.

    Raises:
        ConfigError: ``--config ""`` (an empty path is an error, not "no file").
    """
    config = getattr(args, "config", None)
    if config == "":
        raise ConfigError("--config", "", "the path is empty; expected a YAML file")
    done = []
    if config is not None:
        container.config_file.override(config)
        done.append(container.config_file)
    key = getattr(args, "config_key", None)
    if key is not None:
        container.config_key.override(key)
        done.append(container.config_key)
    container.flags.override(flag_values(args, leave_out))
    done.append(container.flags)
    return Overrides(tuple(done))
