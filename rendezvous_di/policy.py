"""Who serves a backend name: the built-in, one plugin, or nobody (denied, conflict).

One :class:`BackendSlot` per name that at least one plugin claims. The
decision depends on the ``plugins`` policy, which arrives with the settings,
after the container was created, so the Selector entry of such a name calls
:func:`slot_handler`, which decides at call time:

- ``deny`` (backend or distribution names) always wins; with ``allow`` set,
  only listed plugins are usable; with ``autoload`` off, only plugins listed in
  ``allow`` are (pytest's ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` with ``-p``);
- a plugin named like a built-in replaces it only when the name is in
  ``override_builtins``; otherwise the plugin is *shadowed*;
- two usable plugins of one name are a *conflict*: selecting it is an error
  naming both distributions, never a silent pick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from .backends import BUILTIN_BACKENDS, builtin_handler
from .errors import ConfigError, PluginSelectionError
from .plugins import PluginLoader
from .sources import DISABLE_AUTOLOAD_ENV, PLUGIN_KEYS, as_flag

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler, RendezvousParameters


@dataclass(frozen=True)
class PluginPolicy:
    """Which out-of-tree ``torchrun.handlers`` backends may be used, and how.

    Attributes:
        autoload: use installed plugins at all (off: only those in ``allow``).
        allow: only these backend or distribution names.
        deny: never these backend or distribution names.
        override_builtins: built-in names a plugin of the same name may replace.

    A plain dataclass rather than a pydantic model: listing backends needs the
    policy, and building pydantic models would cost more than the listing.
    """

    autoload: bool = True
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    override_builtins: tuple[str, ...] = ()

    @classmethod
    def from_mapping(
        cls, block: Mapping[str, Any], sources: Mapping[str, str] | None = None
    ) -> PluginPolicy:
        """Validate a ``plugins`` block: ``autoload`` a boolean, the rest names or "a,b" text.

        Raises:
            ConfigError: naming ``plugins.<key>``, the value and its source.
        """
        sources = sources or {}
        for key in block:
            if key not in PLUGIN_KEYS:
                raise ConfigError(
                    f"plugins.{key}",
                    block[key],
                    "is not a plugins setting",
                    choices=PLUGIN_KEYS,
                    source=sources.get(f"plugins.{key}"),
                )
        names = {
            key: _name_list(f"plugins.{key}", block[key], sources.get(f"plugins.{key}"))
            for key in ("allow", "deny", "override_builtins")
            if key in block
        }
        autoload = block.get("autoload", True)
        return cls(
            autoload=as_flag(autoload, "plugins.autoload", sources.get("plugins.autoload")),
            **names,
        )


def _name_list(field: str, value: Any, source: str | None) -> tuple[str, ...]:
    """One name, "a,b" text or a list of names, as a tuple of non-empty names."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, Iterable) or isinstance(items, Mapping):
        raise ConfigError(
            field, value, f"{value!r} is not a name or a list of names", source=source
        )
    names = []
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(field, value, f"{item!r} is not a name", source=source)
        if item.strip():
            names.append(item.strip())
    return tuple(names)


DecisionKind = Literal["builtin", "plugin", "denied", "conflict"]


@dataclass(frozen=True)
class Decision:
    """The outcome for one name under one policy; ``loaders`` are the plugins concerned."""

    kind: DecisionKind
    loaders: tuple[PluginLoader, ...] = ()
    reason: str = ""


class BackendSlot:
    """Every claimant of one backend name: perhaps torch's built-in, and one or more plugins."""

    def __init__(self, name: str, loaders: Iterable[PluginLoader]) -> None:
        self.name = name
        self.loaders = tuple(loaders)
        self.builtin = name in BUILTIN_BACKENDS
        # The container hands out the same policy object while its sources are unchanged.
        self._last: tuple[PluginPolicy, Decision] | None = None

    def denial(self, loader: PluginLoader, policy: PluginPolicy) -> str | None:
        """Why ``policy`` forbids ``loader``, or None when it may be used."""
        spec = loader.spec
        if spec.matches(policy.deny):
            return "listed in plugins.deny"
        if not policy.autoload and not spec.matches(policy.allow):
            return (
                f"plugin autoload is off (plugins.autoload or {DISABLE_AUTOLOAD_ENV}); "
                "list it in plugins.allow to use it"
            )
        if policy.allow and not spec.matches(policy.allow):
            return f"not listed in plugins.allow ({', '.join(policy.allow)})"
        return None

    def decide(self, policy: PluginPolicy) -> Decision:
        last = self._last
        if last is not None and last[0] is policy:
            return last[1]
        decision = self._decide(policy)
        self._last = (policy, decision)
        return decision

    def _decide(self, policy: PluginPolicy) -> Decision:
        usable = tuple(lo for lo in self.loaders if self.denial(lo, policy) is None)
        if self.builtin and (not usable or self.name not in policy.override_builtins):
            return Decision("builtin", usable)
        if len(usable) > 1:
            return Decision("conflict", usable, "declared by " + _names(usable))
        if usable:
            return Decision("plugin", usable)
        reasons = {self.denial(lo, policy) or "" for lo in self.loaders}
        return Decision("denied", self.loaders, "; ".join(sorted(reasons)))

    def status(self, loader: PluginLoader, policy: PluginPolicy) -> tuple[str, str | None]:
        """``(status, reason)`` of one claimant as ``rendezvous-di backends`` shows it."""
        denied = self.denial(loader, policy)
        if denied is not None:
            return "denied", denied
        decision = self.decide(policy)
        if decision.kind == "builtin":
            return "shadowed", (
                f"the built-in {self.name!r} is used; add {self.name!r} to "
                "plugins.override_builtins to use this plugin instead"
            )
        if decision.kind == "conflict":
            others = [lo for lo in decision.loaders if lo is not loader]
            return "conflict", (
                f"{self.name!r} is also declared by {_names(others)}; "
                "deny all but one in plugins.deny (by distribution name)"
            )
        return loader.state, loader.reason

    def selection_error(
        self,
        policy: PluginPolicy,
        choices: Iterable[str],
        source: str | None = None,
        policy_source: str | None = None,
    ) -> PluginSelectionError | None:
        """The error for selecting this name under ``policy``, or None when it can be served.

        ``source`` is where the backend name came from, ``policy_source`` where
        the plugins policy did.
        """
        decision = self.decide(policy)
        policy_from = f" (plugins policy from {policy_source})" if policy_source else ""
        if decision.kind == "conflict":
            return PluginSelectionError(
                "backend",
                self.name,
                f"backend {self.name!r} is declared by {len(decision.loaders)} distributions: "
                f"{_names(decision.loaders)}",
                choices=[lo.spec.distribution for lo in decision.loaders],
                hint="list all but one distribution in plugins.deny",
                source=source,
            )
        if decision.kind == "denied":
            plugins = _names(self.loaders)
            return PluginSelectionError(
                "backend",
                self.name,
                f"backend {self.name!r} ({plugins}) is denied: {decision.reason}{policy_from}",
                choices=sorted(c for c in choices if c != self.name),
                source=source,
            )
        return None

    def handler(self, policy: PluginPolicy, params: RendezvousParameters) -> RendezvousHandler:
        decision = self.decide(policy)
        if decision.kind == "builtin":
            return builtin_handler(self.name, params)
        if decision.kind == "plugin":
            return decision.loaders[0].handler(params)
        error = self.selection_error(policy, ())
        assert error is not None
        raise error

    def __deepcopy__(self, memo: dict[int, Any]) -> BackendSlot:
        return self  # immutable, and its loaders are process-wide

    def __repr__(self) -> str:
        return f"<BackendSlot {self.name!r} builtin={self.builtin} plugins={len(self.loaders)}>"


def _names(loaders: Iterable[PluginLoader]) -> str:
    return ", ".join(
        f"{lo.spec.distribution!r} {lo.spec.version} ({lo.spec.value})" for lo in loaders
    )


def slot_handler(
    slot: BackendSlot, params: RendezvousParameters, policy: PluginPolicy | None = None
) -> RendezvousHandler:
    """What a plugin-claimed Selector entry provides: the policy decides who creates it."""
    return slot.handler(policy_value(policy), params)


def selectable(entries: Mapping[str, Any], policy: PluginPolicy) -> list[str]:
    """The names of ``entries`` (a Selector's providers) that ``policy`` lets someone select."""
    names = []
    for name, provider in entries.items():
        slot = slot_of(provider)
        if slot is None or slot.decide(policy).kind in ("builtin", "plugin"):
            names.append(name)
    return sorted(names)


def slot_of(provider: Any) -> BackendSlot | None:
    """The slot behind a Selector entry, or None for built-in and container entries."""
    if getattr(provider, "provides", None) is not slot_handler:
        return None
    slot = provider.args[0] if provider.args else None
    return slot if isinstance(slot, BackendSlot) else None


PolicySource: TypeAlias = "PluginPolicy | Callable[[], PluginPolicy] | None"
"""A policy, a provider asked for it only when needed (the container's ``plugin_policy``),
or None for the default policy."""


def policy_value(policy: PolicySource) -> PluginPolicy:
    """The policy ``policy`` stands for; a provider is called only now."""
    if callable(policy):
        asked: PluginPolicy = policy()
        return asked
    return policy if policy is not None else PluginPolicy()


def builtin_serves(name: str, provider: Any, policy: PolicySource) -> bool:
    """Whether the Selector entry ``name`` ends up calling torch's built-in creator.

    Only then does the built-in option schema apply: a plugin that replaced
    ``c10d`` reads its options its own way.
    """
    if name not in BUILTIN_BACKENDS:
        return False
    if getattr(provider, "provides", None) is builtin_handler:
        return True
    slot = slot_of(provider)
    return slot is not None and slot.decide(policy_value(policy)).kind == "builtin"
