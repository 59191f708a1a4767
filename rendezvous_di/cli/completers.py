"""Shell completion: argcomplete's protocol, answered from our own parsers.

Imported only when a shell asks for completions (``_ARGCOMPLETE`` in the
environment, see `rendezvous_di.cli.main`): no other command pays for
argcomplete. ``run`` is parsed by torch's own parser, which needs torch
(about 1.3 s); completion uses the torch-free table of torchrun's options
(`rendezvous_di.config.torchrun_args`) instead, so it covers every torchrun flag
in milliseconds.

Completers answer from the container the command line describes so far
(``--config``/``--profile``, ``--container``, the typed rendezvous flags and the
PET_* environment): backend names from its Selector under its plugin policy,
``--rdzv-conf`` keys (and choices) of the chosen backend, profile names.
A plugin's options are read by loading it in a child process; nothing else
imports torch or a plugin. A completer that fails offers nothing rather than a
traceback in the middle of the user's line.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from typing import Any

from ..arguments import configure
from ..backends.deadline import Deadline
from ..config.flags import add_torchrun_options, add_training_script
from ..config.layers import merge
from ..config.master import default_backend
from ..config.policy import PluginPolicy
from ..config.profiles import profile_names as shipped_profiles
from ..config.schedulers.table import choices
from ..config.torchrun import MASTER_KEYS
from ..config.values import FALSE_WORDS, TRUE_WORDS
from ..locate import new_container
from ..registry.catalog import Catalog
from ..registry.json_schema import served_options
from .run import add_run_flags

Completer = Callable[..., Iterable[str]]
PLUGIN_SECONDS = 10.0
"""How long a key press may wait for a plugin to load (in a child) for its options."""


def complete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request about ``parser``; exit (argcomplete writes to fd 8)."""
    import argcomplete

    argcomplete.autocomplete(completion_parser(parser), always_complete_options=False)


def completion_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``parser`` (the CLI's) with ``run``'s torchrun flags and every completer attached."""
    commands = _subcommands(parser)
    _add_torchrun_flags(commands["run"])
    for command in commands.values():
        for action in command._actions:
            completer = _completer(action)
            if completer is not None:
                action.completer = completer  # type: ignore[attr-defined]
    return parser


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("the parser has no subcommands")


def _add_torchrun_flags(run: argparse.ArgumentParser) -> None:
    """``run``'s command line without torch, as `rendezvous_di.cli.run.FLAGS` parses it."""
    add_torchrun_options(run)
    add_run_flags(run)
    add_training_script(run)


def _completer(action: argparse.Action) -> Completer | None:
    flags = set(action.option_strings)
    if flags & {"--rdzv-backend", "--rdzv_backend"} or (
        not flags and action.dest == "name" and action.metavar == "NAME"
    ):
        return backend_names
    if flags & {"--rdzv-conf", "--rdzv_conf"}:
        return conf_keys
    if "--profile" in flags:
        return profile_names
    if "--scheduler" in flags:
        return schedulers
    return None


def profile_names(prefix: str, **_: Any) -> list[str]:
    """``--profile``: the profiles rendezvous-di ships."""
    return [name for name in shipped_profiles() if name.startswith(prefix)]


def schedulers(prefix: str, **_: Any) -> list[str]:
    """``--scheduler``: its choices (checked with the settings, so argparse has none)."""
    return [name for name in choices() if name.startswith(prefix)]


def backend_names(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    """``--rdzv-backend`` (and ``backends NAME``): the names its container lets one select."""
    try:
        container = _container(parsed_args)
        catalog = Catalog(container.backends.providers)
        names = catalog.selectable(_policy(container))
    except Exception:
        return []
    return [name for name in names if name.startswith(prefix)]


def conf_keys(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    """``--rdzv-conf k1=v1,k<TAB>``: the chosen backend's option names, then their values.

    The backend is the one typed on the line so far, else the one the settings
    name (``--config``, PET_RDZV_BACKEND), else torchrun's default.
    """
    head, comma, current = prefix.rpartition(",")
    done = head + comma
    given = {item.partition("=")[0].strip() for item in head.split(",")}
    try:
        container = _container(parsed_args)
        backend = _chosen_backend(container, parsed_args)
        policy = _policy(container)
        deadline = Deadline(PLUGIN_SECONDS)
        schema = served_options(container, policy, [backend], deadline=deadline).get(backend)
    except Exception:
        return []
    if schema is None:
        return []
    key, equals, value = current.partition("=")
    if not equals:
        names = [n for n in schema.names if n.startswith(current) and n not in given]
        return [f"{done}{name}=" for name in names]
    spec = schema.get(key.strip())
    if spec is None:
        return []
    if spec.choices:
        values = [str(c) for c in spec.choices]
    elif spec.kind == "bool":
        values = [TRUE_WORDS[1], FALSE_WORDS[1]]
    else:
        values = [] if spec.default is None else [str(spec.default)]
    return [f"{done}{key}={v}" for v in values if v.startswith(value)]


def _container(parsed_args: argparse.Namespace) -> Any:
    """The container this command line describes so far (its ``--rdzv-conf`` left out)."""
    container = new_container(getattr(parsed_args, "container_spec", None))
    configure(container, parsed_args, leave_out=("conf",))  # the value being completed
    return container


def _policy(container: Any) -> Any:
    try:
        return container.plugin_policy()
    except Exception:
        return PluginPolicy()


def _chosen_backend(container: Any, parsed_args: argparse.Namespace) -> str:
    """The backend the settings name, read from the layers: no plugin is loaded to validate."""
    values = merge(container.layers()).values
    backend = values.get("backend")
    if isinstance(backend, str) and backend:
        return backend
    try:
        nodes = int(values.get("max_nodes", values.get("min_nodes", 1)))
    except (TypeError, ValueError):
        nodes = 1
    return default_backend(nodes, {key: values[key] for key in MASTER_KEYS if key in values})
