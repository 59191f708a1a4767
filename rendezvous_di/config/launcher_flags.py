"""torchrun's own flags that are not rendezvous settings, checked with torch's rules before launch.

torch checks most of these late: ``--nproc-per-node 0`` once the rendezvous
store is up (an ``AssertionError`` from its ``WorkerSpec``), ``--monitor-interval
nan`` when the agent first sleeps, ``--redirects 9`` or ``--local-ranks-filter
abc`` after its 1.3 s import, as a bare ``ValueError``; a ``PET_*`` twin that
argparse cannot convert only inside torch's parser. `check_launcher_flags`
applies the same rules (read in ``torch/distributed/run.py``,
``launcher/api.py``, ``elastic/agent/server/api.py`` and
``elastic/multiprocessing/api.py``) to every value-taking flag and its
``PET_*`` twin (the flag wins, as in torch), at once and without torch, naming
the flag, the value and its source. Each flag's rule is one entry of `RULES`;
flags whose value torch takes as any text are in `FREE_TEXT` (a test checks
that every torchrun option is in one or the other, or is a rendezvous setting
checked by `rendezvous_di.config.settings`).

Errors are the class torch raises: `rendezvous_di.errors.LauncherFlagError`
(also an ``AssertionError``) where torch asserts, a
[`ConfigError`][rendezvous_di.ConfigError] (a ``ValueError``) elsewhere.
"""

from __future__ import annotations

import math
import os
import re
import signal
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from ..errors import ConfigError, LauncherFlagError
from ..paths import directory_problem
from ..text import quote
from .training_script import check_training_script

NPROC_WORDS = ("auto", "cpu", "gpu", "xpu")
"""The words torch's ``--nproc-per-node`` knows besides a number (plus a privateuse1
backend's name; see `check_nproc_per_node`)."""
PRIVATEUSE1_DEFAULT = "privateuseone"
"""torch's name for the privateuse1 device until an extension renames it."""
DEVICE_BACKENDS_GROUP = "torch.backends"
"""Entry points torch imports at its own import (device extensions that may rename privateuse1)."""

START_METHODS = ("spawn", "fork", "forkserver")
EVENT_LOG_HANDLERS = ("console", "dynamic_rendezvous", "null")
"""torch's ``_log_handlers`` (``torch.distributed.elastic.events.handlers``): others are a
``KeyError`` when the agent records its first event."""
NUMA_MODES = ("node", "socket", "exclusive", "core-complex")
"""torch's ``AffinityMode`` values (``torch.numa.binding``)."""
LOGS_SPECS_GROUP = "torchrun.logs_specs"
STANDALONE_ENV = "PET_STANDALONE"
"""A switch the container reads as a rendezvous setting (yes/no too), not torch's parser."""
MAX_MONITOR_INTERVAL = 86400.0
"""A day: the agent looks at its workers this often; beyond it a failed worker is never seen
(and past ~9e9 s ``time.sleep`` overflows)."""

_INTEGER = re.compile(r"[+-]?\d+")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STD_VALUE = re.compile(r"^[0123]$")
_STD_MAPPING = re.compile(r"^(\d:[0123],)*(\d:[0123])$")
_MAX_DIGITS = 9


class FlagValue(NamedTuple):
    """A launcher flag's effective text and where it came from."""

    text: str
    source: str


def effective(
    given: object, flag: str, env_name: str | None, environ: Mapping[str, str]
) -> FlagValue | None:
    """The flag's value, else its ``PET_*`` twin's (torch's ``env`` action), else None."""
    if given is not None:
        return FlagValue(str(given), f"flag {flag}")
    value = environ.get(env_name) if env_name else None
    if value:
        return FlagValue(value, f"env {env_name}")
    return None


def _field(value: FlagValue) -> str:
    """The setting's name as torch's attribute (``monitor_interval``), from the flag's name."""
    flag = value.source.split()[-1]
    if flag.startswith("PET_"):
        return flag[4:].lower()
    return flag.lstrip("-").replace("-", "_")


def check_nproc_per_node(value: FlagValue | None) -> None:
    """A whole number >= 1, or a device word (``auto``, ``cpu``, ``gpu``, ``xpu``...).

    Any other word is torch's privateuse1 device only if a device extension
    (entry point group ``torch.backends``, imported with torch) renamed it;
    with none installed, its only name is ``privateuseone``. Whether the
    device is there is torch's to say (`rendezvous_di.run.check_nproc_word`).
    """
    if value is None:
        return
    text = value.text.strip()
    if _INTEGER.fullmatch(text):
        if len(text.lstrip("+-")) > _MAX_DIGITS or int(text) < 1:
            raise LauncherFlagError(
                "nproc_per_node",
                value.text,
                f"{quote(value.text)}: must be a whole number from 1 to {10**_MAX_DIGITS - 1}",
                choices=NPROC_WORDS,
                hint="or a device word",
                source=value.source,
            )
        return
    if text in (*NPROC_WORDS, PRIVATEUSE1_DEFAULT):
        return
    if not _WORD.fullmatch(text) or not _device_extensions_installed():
        raise ConfigError(
            "nproc_per_node",
            value.text,
            f"{quote(value.text)} is neither a whole number nor a device word",
            choices=NPROC_WORDS,
            source=value.source,
        )


def _device_extensions_installed() -> bool:
    from importlib.metadata import entry_points

    return bool(entry_points(group=DEVICE_BACKENDS_GROUP))


def check_max_restarts(value: FlagValue) -> None:
    """A whole number >= 0 (torch: ``AssertionError("max_restarts must be >= 0")``)."""
    number = _integer(value)
    if number < 0:
        raise LauncherFlagError(
            "max_restarts", value.text, f"{quote(value.text)}: must be >= 0", source=value.source
        )


def check_shutdown_timeout(value: FlagValue) -> None:
    """Whole seconds >= 0 (torch's ``LaunchConfig``: ``ValueError``)."""
    if _integer(value) < 0:
        raise ConfigError(
            "shutdown_timeout",
            value.text,
            f"{quote(value.text)}: must be >= 0 seconds",
            source=value.source,
        )


def check_monitor_interval(value: FlagValue) -> None:
    """Seconds > 0 (torch's ``WorkerSpec`` asserts it), finite, at most a day."""
    try:
        seconds = float(value.text.strip())
    except ValueError:
        seconds = math.nan
        finite = False
    else:
        finite = math.isfinite(seconds)
    if finite and 0 < seconds <= MAX_MONITOR_INTERVAL:
        return
    error = LauncherFlagError if finite and seconds <= 0 else ConfigError
    raise error(
        "monitor_interval",
        value.text,
        f"{quote(value.text)}: must be a number of seconds > 0 and at most "
        f"{MAX_MONITOR_INTERVAL:g}",
        source=value.source,
    )


def _choice(field: str, choices: tuple[str, ...]) -> Callable[[FlagValue], None]:
    def check(value: FlagValue) -> None:
        if value.text not in choices:
            problem = f"{quote(value.text)} is not valid"
            raise ConfigError(field, value.text, problem, choices=choices, source=value.source)

    check.__doc__ = f"One of {', '.join(choices)} (torch's own choices)."
    return check


def check_std(value: FlagValue) -> None:
    """``--redirects``/``--tee``: 0-3, or ``local_rank:0-3,...`` (torch's ``Std.from_str``)."""
    if _STD_VALUE.match(value.text) or _STD_MAPPING.match(value.text):
        return
    raise ConfigError(
        _field(value),
        value.text,
        f"{quote(value.text)} is not 0, 1, 2 or 3, nor LOCAL_RANK:N pairs such as 0:3,1:0",
        choices=("0", "1", "2", "3"),
        hint="0 none, 1 stdout, 2 stderr, 3 both",
        source=value.source,
    )


def check_local_ranks_filter(value: FlagValue) -> None:
    """Comma-separated integers (torch: ``set(map(int, text.split(",")))``)."""
    for part in value.text.split(","):
        try:
            int(part)
        except ValueError:
            raise ConfigError(
                "local_ranks_filter",
                value.text,
                f"{quote(part)} in {quote(value.text)} is not an integer; expected "
                "comma-separated local ranks such as 0,1,2",
                source=value.source,
            ) from None


def check_log_dir(value: FlagValue) -> None:
    """A directory the agent can write to or create (``/dev/null``: no logs, as in torch)."""
    if value.text == os.devnull:
        return
    problem = directory_problem(value.text)
    if problem is not None:
        raise ConfigError("log_dir", value.text, problem, source=value.source)


def check_logs_specs(value: FlagValue) -> None:
    """The name of an installed ``torchrun.logs_specs`` entry point (torch's ``ValueError``)."""
    from importlib.metadata import entry_points

    names = sorted({ep.name for ep in entry_points(group=LOGS_SPECS_GROUP)})
    if value.text not in names:
        raise ConfigError(
            "logs_specs",
            value.text,
            f"{quote(value.text)} is no installed {LOGS_SPECS_GROUP} entry point",
            choices=names,
            source=value.source,
        )


def check_signals_to_handle(value: FlagValue) -> None:
    """Signal names such as ``SIGTERM,SIGINT`` (torch only logs a warning for an unknown one,
    and the job then dies of that signal without stopping its workers)."""
    for part in value.text.split(","):
        name = part.strip()
        if not isinstance(getattr(signal, name, None), signal.Signals) or not name.startswith(
            "SIG"
        ):
            raise ConfigError(
                "signals_to_handle",
                value.text,
                f"{quote(name)} is not a signal name",
                hint="for example SIGTERM,SIGINT,SIGHUP,SIGQUIT",
                source=value.source,
            )


def _integer(value: FlagValue) -> int:
    text = value.text.strip()
    if not _INTEGER.fullmatch(text) or len(text.lstrip("+-")) > _MAX_DIGITS:
        problem = f"{quote(value.text)} is not a whole number"
        raise ConfigError(_field(value), value.text, problem, source=value.source)
    return int(text)


RULES: dict[str, Callable[[FlagValue], None]] = {
    "--nproc-per-node": check_nproc_per_node,
    "--max-restarts": check_max_restarts,
    "--monitor-interval": check_monitor_interval,
    "--start-method": _choice("start_method", START_METHODS),
    "--event-log-handler": _choice("event_log_handler", EVENT_LOG_HANDLERS),
    "--log-dir": check_log_dir,
    "--redirects": check_std,
    "--tee": check_std,
    "--local-ranks-filter": check_local_ranks_filter,
    "--logs-specs": check_logs_specs,
    "--numa-binding": _choice("numa_binding", NUMA_MODES),
    "--signals-to-handle": check_signals_to_handle,
    "--shutdown-timeout": check_shutdown_timeout,
}
"""Each launcher flag's rule, by its long name; it sees the flag's text or its PET_* twin's."""

FREE_TEXT = (
    "--role",
    "--duplicate-stdout-filters",
    "--duplicate-stderr-filters",
    "--log-line-prefix-template",
    "--print-completion",
)
"""Flags torch takes as any text (``--print-completion`` exits before anything runs)."""


def check_launcher_flags(args: Any, environ: Mapping[str, str]) -> None:
    """Every launcher flag of ``args`` (or its ``PET_*`` twin) by its rule.

    Raises:
        ConfigError: the first bad value, naming the flag, the value and its source.
    """
    from .torchrun_args import FLAG_OPTIONS, NO_ENV_TWIN, VALUE_OPTIONS

    for names in VALUE_OPTIONS:
        flag = next(name for name in names if name.startswith("--"))
        rule = RULES.get(flag)
        if rule is None:
            continue
        dest = flag[2:].replace("-", "_")
        env = None if flag in NO_ENV_TWIN else f"PET_{dest.upper()}"
        value = effective(getattr(args, dest, None), flag, env, environ)
        if value is not None:
            rule(value)
    for names in FLAG_OPTIONS:
        check_switch_variable(names, environ)
    check_module_without_python(
        env_flag(args.module, "PET_MODULE", environ),
        env_flag(args.no_python, "PET_NO_PYTHON", environ),
    )


def switch_variable(names: tuple[str, ...]) -> str:
    """The ``PET_*`` twin of a no-value flag (``--no-python``: ``PET_NO_PYTHON``)."""
    flag = next(name for name in names if name.startswith("--"))
    return "PET_" + flag[2:].replace("-", "_").upper()


def check_switch_variable(names: tuple[str, ...], environ: Mapping[str, str]) -> None:
    """A no-value flag's ``PET_*`` twin, when set, is a whole number (0: off).

    torch's parser reads it with ``bool(int(...))`` when it is built, so
    ``PET_MODULE=yes`` (or an empty value) is a ``ValueError`` from inside
    torch. ``PET_STANDALONE`` is a rendezvous setting, read by the container
    (which also takes yes/no); torch's parser is shielded from it.
    """
    env = switch_variable(names)
    if env == STANDALONE_ENV or env not in environ:
        return
    try:
        int(environ[env])
    except ValueError:
        raise ConfigError(
            env[4:].lower(),
            environ[env],
            f"{quote(environ[env])} is not a whole number; torch reads {env} as 0 (off) or "
            "another number (on)",
            choices=("0", "1"),
            source=f"env {env}",
        ) from None


def check_script_here(args: Any, environ: Mapping[str, str]) -> None:
    """The training script is on this node, as the workers will run it (not for ``--dry-run``:
    its command may be meant for other machines)."""
    check_training_script(
        args.training_script,
        module=env_flag(args.module, "PET_MODULE", environ),
        no_python=env_flag(args.no_python, "PET_NO_PYTHON", environ),
        run_path=env_flag(getattr(args, "run_path", None), "PET_RUN_PATH", environ),
    )


def check_module_without_python(module: bool, no_python: bool) -> None:
    """torch refuses ``--module`` with ``--no-python`` (a ``ValueError``): say so first."""
    if module and no_python:
        raise ConfigError(
            "module",
            True,
            "--module runs the script with 'python -m', --no-python runs it without python",
            hint="give only one of them",
            source="flag --module/--no-python (or PET_MODULE/PET_NO_PYTHON)",
        )


def env_flag(given: bool | None, env_name: str, environ: Mapping[str, str]) -> bool:
    """A no-value flag as torch's ``check_env`` reads it: given, else ``PET_X`` as 0/1."""
    if given:
        return True
    try:
        return int(environ.get(env_name, "0")) != 0
    except ValueError:
        return False  # refused by check_switch_variable
