"""Our flags, each defined once, and how a launcher's command line is parsed: once, without torch.

Two launchers read torchrun's command line: `rendezvous_di.run.main` (the Python
API, torch's signature) and ``rendezvous-di run`` (the CLI, which adds
``--profile``, ``--container``, ``--debug``, ``--dry-run``). They differ only
in the flags they add and in how a usage error is reported, so each is a
`LaunchFlags` value: `LaunchFlags.parse` reads ``argv`` with torchrun's option
names and arity (`rendezvous_di.config.torchrun_args`) before torch is
imported, and `LaunchFlags.torch_parser` gives torch's own parser the same
flags, for the namespace torch launches with. The other commands (``config``,
``check``, ``backends``, ``schema``) take the settings flags and the torchrun
rendezvous flags defined here too.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from .launcher_flags import STANDALONE_ENV
from .profiles import profile_argument
from .schedulers.table import SCHEDULER_ENV, choices
from .torchrun import TORCHRUN_OPTIONS
from .torchrun_args import FLAG_OPTIONS, TYPES, VALUE_OPTIONS, exits_early

AddFlags = Callable[[argparse.ArgumentParser], None]
UsageError = Callable[[str], NoReturn]

SCHEDULER_FLAG = "--scheduler"
ADMISSION_FLAG = "--admission"
REQUIRED_SCRIPT = "the following arguments are required: training_script, training_script_args"
"""torch's parser's message when no script is given (we refuse it before torch's import)."""


def add_settings_flags(parser: argparse.ArgumentParser, *, profiles: bool = False) -> None:
    """``--config`` (with ``profiles``: or ``--profile``), ``--config-key``, ``--scheduler``."""
    config_help = "YAML file with the settings keys (lowest precedence)"
    if profiles:
        settings_file = parser.add_mutually_exclusive_group()
        settings_file.add_argument("--config", metavar="FILE", help=config_help)
        settings_file.add_argument(
            "--profile",
            dest="config",
            metavar="NAME",
            type=profile_argument,
            help="a deployment profile shipped with rendezvous-di, by name "
            "(containers/NAME.yaml: c10d, local, static, ...), read like --config",
        )
    else:
        parser.add_argument("--config", metavar="FILE", help=config_help)
    parser.add_argument(
        "--config-key",
        metavar="KEY",
        help="read the settings from under KEY of the --config file (a platform's own YAML; "
        "a dotted path such as platform.rendezvous); the file's other keys are ignored",
    )
    parser.add_argument(
        SCHEDULER_FLAG,
        dest="scheduler",
        metavar="{" + ",".join(choices()) + "}",
        help="take the rendezvous a scheduler gave this node (Slurm: first node, node count, "
        "job id; Kubeflow: its master variables), under the config file "
        f"(default auto: detected; env {SCHEDULER_ENV})",
    )


def add_admission_flag(parser: argparse.ArgumentParser, *, what: str) -> None:
    """``--admission NAME[,NAME]``: the admission checks (settings key ``admission``)."""
    parser.add_argument(
        ADMISSION_FLAG,
        dest="admission",
        metavar="NAME[,NAME]",
        help=f"admission checks {what}, in order (network, disk, gpu or a plugin's; "
        "CHECK.OPTION=VALUE items set options; env PET_ADMISSION; rendezvous-di checks "
        "lists them)",
    )


def add_verbose_flag(parser: argparse.ArgumentParser) -> None:
    """``--verbose``: say which provider created the handler (once per rendezvous)."""
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="report which container provider created each rendezvous handler",
    )


def add_main_flags(parser: argparse.ArgumentParser) -> None:
    """What `rendezvous_di.run.main` takes besides torchrun's flags."""
    add_settings_flags(parser)
    add_verbose_flag(parser)
    add_admission_flag(parser, what="run before the workers start")


def add_rendezvous_flags(parser: argparse.ArgumentParser) -> None:
    """The torchrun rendezvous flags (both spellings), for commands that do not launch.

    Stored under torch's own attribute names, as torch's parser stores them for
    ``run``, so one function reads them for every command
    (`rendezvous_di.arguments.flag_values`).
    """
    group = parser.add_argument_group("rendezvous (torchrun flags; PET_* variables are read too)")
    for option in TORCHRUN_OPTIONS:
        names = list(dict.fromkeys([option.flag, "--" + option.flag[2:].replace("-", "_")]))
        help_text = f"{option.help} (env {option.env})"
        if option.key == "standalone":
            group.add_argument(
                *names, dest=option.dest, action="store_true", default=None, help=help_text
            )
        else:
            group.add_argument(*names, dest=option.dest, metavar="VALUE", help=help_text)


def add_torchrun_options(parser: argparse.ArgumentParser) -> None:
    """torchrun's own options by name and arity, every value a string unless torch converts it.

    ``-h`` is parsed (not acted on): help is torch's parser's to print.
    """
    helps = {o.flag: f"{o.help} (env {o.env})" for o in TORCHRUN_OPTIONS}
    parser.add_argument("-h", "--help", action="store_true", help="show torchrun's help")
    for names in VALUE_OPTIONS:
        parser.add_argument(*names, type=TYPES.get(names[0], str), help=helps.get(names[0]))
    for names in FLAG_OPTIONS:
        parser.add_argument(*names, action="store_true", default=None, help=helps.get(names[0]))


def add_training_script(parser: argparse.ArgumentParser) -> None:
    """The training script and its arguments, last on the line as torchrun takes them."""
    parser.add_argument("training_script", nargs="?", help="the training script and its arguments")
    parser.add_argument("training_script_args", nargs=argparse.REMAINDER)


@dataclass(frozen=True)
class LaunchFlags:
    """How one launcher reads torchrun's command line: torchrun's options plus ``add_flags``.

    ``error`` reports a usage error and exits (the CLI's one ``error:`` line);
    None keeps argparse's own, as torch's parser has it (``torchrun: error:``).
    """

    add_flags: AddFlags
    error: UsageError | None = None

    def parse(self, argv: Sequence[str]) -> ParsedLine:
        """``argv`` parsed without torch (argparse errors exit 2, as torch's do)."""
        parser = argparse.ArgumentParser(prog="torchrun", add_help=False)
        add_torchrun_options(parser)
        self.add_flags(parser)
        add_training_script(parser)
        self._report_errors(parser)
        return ParsedLine(tuple(argv), parser.parse_args(list(argv)), self)

    def torch_parser(self) -> argparse.ArgumentParser:
        """torch's own torchrun parser, plus our flags; imports torch.

        The rendezvous flags default to None: the container reads them, and
        their PET_* twins, with provenance (torch's defaults read PET_* at construction).
        """
        from torch.distributed import run as torchrun

        with _standalone_read_by_the_container():
            parser: argparse.ArgumentParser = torchrun.get_args_parser()
        self.add_flags(parser)
        parser.set_defaults(**dict.fromkeys(o.dest for o in TORCHRUN_OPTIONS))
        self._report_errors(parser)
        return parser

    def usage_error(self, message: str) -> NoReturn:
        """Report ``message`` as a usage error, the way this launcher's parser would; exit 2."""
        if self.error is not None:
            self.error(message)
        sys.stderr.write(f"torchrun: error: {message}\n")
        raise SystemExit(2)

    def _report_errors(self, parser: argparse.ArgumentParser) -> None:
        if self.error is not None:
            parser.error = self.error  # type: ignore[method-assign,assignment]
            # argparse drops what --help cannot write; the CLI reports it (exit 1).
            parser._print_message = _print_message  # type: ignore[method-assign]


@contextlib.contextmanager
def _standalone_read_by_the_container() -> Iterator[None]:
    """Hide ``PET_STANDALONE`` from torch's parser while it is built.

    The container has read it already (``yes``/``no`` too, as every boolean
    setting); torch's ``check_env`` would ``int()`` it at construction and
    raise ``ValueError`` for ``yes``. What torch would make of it is replaced
    by the container's rendezvous anyway (`rendezvous_di.run.apply_settings`).
    """
    value = os.environ.pop(STANDALONE_ENV, None)
    try:
        yield
    finally:
        if value is not None:
            os.environ[STANDALONE_ENV] = value


def _print_message(message: str, file: Any = None) -> None:
    if message:
        (file or sys.stderr).write(message)


@dataclass(frozen=True)
class ParsedLine:
    """A launcher's command line, parsed once: ``argv`` as given, ``args`` as read, by whom."""

    argv: tuple[str, ...]
    args: argparse.Namespace
    flags: LaunchFlags

    @property
    def exits_early(self) -> bool:
        """``--help`` or an option after which torch's parser prints and exits: nothing runs."""
        return exits_early(self.args)

    def require_script(self) -> None:
        """torch's parser's error when no training script is given, before torch's import."""
        if self.args.training_script is None:
            self.flags.usage_error(REQUIRED_SCRIPT)

    def torch_args(self) -> argparse.Namespace:
        """``argv`` parsed by torch's own parser (imports torch): what torch launches with."""
        return self.flags.torch_parser().parse_args(list(self.argv))


MAIN = LaunchFlags(add_main_flags)
"""`rendezvous_di.run.main`'s command line: torchrun's, plus `add_main_flags`."""
