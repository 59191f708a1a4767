"""Effective settings in torchrun's own flags and PET_* variables, as plain torchrun reads them.

``rendezvous-di run --dry-run`` prints the torchrun command a job amounts to and
``rendezvous-di config --format env`` the PET_* lines of a Kubernetes manifest;
both say the same rendezvous in torchrun's words, from here. Three rules make
the translation faithful to what torchrun does with them:

- ``--standalone`` stays ``--standalone`` (its fresh run id is torchrun's too).
- A fresh per-run id (our default for one node) is never frozen into a command
  or a manifest: it is left out, with a note (plain torchrun then uses ``none``,
  which on one node meets nobody else either).
- ``static`` takes its rank from ``--node-rank`` (torchrun overwrites a ``rank``
  in ``--rdzv-conf`` with it), so the rank goes there.

Secret options (a ``password``) are masked unless asked for: a dry run is
pasted into tickets and logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .master import STATIC
from .torchrun import TORCHRUN_OPTIONS, TorchrunOption

if TYPE_CHECKING:
    from .settings import RendezvousSettings

MASK = "***"
SECRET_WORDS = ("password", "secret", "token")
"""An option whose name holds one of these is a secret: masked unless asked for."""

_BY_KEY = {option.key: option for option in TORCHRUN_OPTIONS}


def is_secret(name: str) -> bool:
    """Whether the backend option ``name`` holds a credential."""
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def conf_text(value: Any) -> str:
    """One option value as torchrun's ``--rdzv-conf`` writes it (booleans in lower case)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def is_standalone(settings: RendezvousSettings) -> bool:
    """Whether ``--standalone`` (or ``PET_STANDALONE``) set the rendezvous.

    A file's ``standalone: true`` is not told apart from a file naming the same
    three values (its label is the file's): it is shown as those values.
    """
    labels = {settings.source_of(key) for key in ("backend", "endpoint", "run_id")}
    return labels in ({"flag --standalone"}, {"env PET_STANDALONE"})


def has_fresh_run_id(settings: RendezvousSettings) -> bool:
    """Whether the run id is a fresh one made for this run (one node, no id given)."""
    return settings.source_of("run_id") == "default" and settings.max_nodes == 1


def nnodes_text(settings: RendezvousSettings) -> str:
    """``N`` or ``MIN:MAX``, as ``--nnodes`` takes it."""
    if settings.min_nodes == settings.max_nodes:
        return str(settings.min_nodes)
    return f"{settings.min_nodes}:{settings.max_nodes}"


@dataclass(frozen=True)
class TorchrunValue:
    """One torchrun setting: its flag and PET_* variable, and the text they carry."""

    option: TorchrunOption
    text: str

    @property
    def is_switch(self) -> bool:
        return self.option.key == "standalone"

    def flag_args(self) -> list[str]:
        """The command-line arguments (``--standalone`` takes no value)."""
        return [self.option.flag] if self.is_switch else [self.option.flag, self.text]

    def env_item(self) -> tuple[str, str]:
        """The PET_* variable and its value (a switch is ``1``, as torchrun reads it)."""
        return self.option.env, "1" if self.is_switch else self.text


@dataclass(frozen=True)
class TorchrunRendezvous:
    """The effective rendezvous in torchrun's flags, with notes on what they cannot say."""

    values: tuple[TorchrunValue, ...]
    notes: tuple[str, ...]


def torchrun_rendezvous(
    settings: RendezvousSettings, *, show_secrets: bool = False
) -> TorchrunRendezvous:
    """The rendezvous of ``settings`` as torchrun flags (in torchrun's order), and notes."""
    values: list[TorchrunValue] = []
    notes: list[str] = []

    def add(key: str, text: str) -> None:
        values.append(TorchrunValue(_BY_KEY[key], text))

    conf = dict(settings.conf)
    standalone = is_standalone(settings)
    if standalone:
        add("standalone", "1")
    else:
        add("backend", settings.backend)
        if settings.endpoint:
            add("endpoint", settings.endpoint)
        if has_fresh_run_id(settings):
            notes.append(
                "no --rdzv-id: rendezvous-di gives each one-node run a fresh id "
                f"(this one would be {settings.run_id}); plain torchrun uses 'none'"
            )
        else:
            add("run_id", settings.run_id)
    add("nnodes", nnodes_text(settings))
    if settings.backend == STATIC and "rank" in conf:
        add("node_rank", conf_text(conf.pop("rank")))  # torchrun: static's rank is --node-rank
    if conf:
        add("conf", _conf(conf, notes, show_secrets))
    if settings.local_addr is not None:
        add("local_addr", settings.local_addr)
    return TorchrunRendezvous(tuple(values), tuple(notes))


def _conf(conf: Mapping[str, Any], notes: list[str], show_secrets: bool) -> str:
    items = []
    for name, value in conf.items():
        text = conf_text(value)
        if is_secret(name) and not show_secrets:
            notes.append(f"conf {name} is masked ({MASK}): give --show-secrets to print it")
            text = MASK
        elif "," in text:
            notes.append(
                f"conf {name}={text!r} holds a comma, which torchrun's --rdzv-conf cannot carry "
                "(it splits there): give it in a --config file"
            )
        items.append(f"{name}={text}")
    return ",".join(items)


def policy_notes(settings: RendezvousSettings) -> list[str]:
    """The ``plugins`` settings torchrun has no flag or variable for, one note each."""
    policy = settings.plugins
    notes = []
    for key in ("allow", "deny", "override_builtins"):
        names = getattr(policy, key)
        if names:
            notes.append(
                f"plugins.{key}: {','.join(names)} has no torchrun flag or PET_* variable "
                "(plain torchrun loads every installed plugin); keep it in a --config file"
            )
    return notes
