"""Who serves a backend name that plugins claim: the built-in, one plugin, or nobody.

One `ClaimedName` per name that at least one installed plugin claims. The
decision depends on the ``plugins`` policy, which arrives with the settings,
after the container was created, so the Selector entry of such a name holds
the `ClaimedName`, which decides at call time (for its description and its handler):

- ``deny`` (backend or distribution names) always wins; with ``allow`` set,
  only listed plugins are usable; with ``autoload`` off, only plugins listed in
  ``allow`` are (pytest's ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` with ``-p``);
- a plugin named like a built-in replaces it only when the name is in
  ``override_builtins``; otherwise the plugin is *shadowed*;
- two usable plugins of one name are a *conflict*: selecting it is an error
  naming both distributions, never a silent pick.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..backends.builtin import BUILTIN_BACKENDS, create_builtin_handler
from ..config.policy import PluginPolicy
from ..errors import PluginSelectionError
from ..plugins.loader import PluginLoader
from .policy import denial

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler, RendezvousParameters

    from ..backends.description import BackendDescription


DecisionKind = Literal["builtin", "plugin", "denied", "conflict"]


@dataclass(frozen=True)
class Decision:
    """The outcome for one name under one policy; ``loaders`` are the plugins concerned."""

    kind: DecisionKind
    loaders: tuple[PluginLoader, ...] = ()
    reason: str = ""


class ClaimedName:
    """Every claimant of one backend name: perhaps torch's built-in, and one or more plugins."""

    def __init__(self, name: str, loaders: Iterable[PluginLoader]) -> None:
        self.name = name
        self.loaders = tuple(loaders)
        self.builtin = name in BUILTIN_BACKENDS
        # The container hands out the same policy object while its sources are unchanged.
        self._last: tuple[PluginPolicy, Decision] | None = None

    def decide(self, policy: PluginPolicy) -> Decision:
        last = self._last
        if last is not None and last[0] is policy:
            return last[1]
        decision = self._decide(policy)
        self._last = (policy, decision)
        return decision

    def _decide(self, policy: PluginPolicy) -> Decision:
        usable = tuple(lo for lo in self.loaders if denial(lo.spec, policy) is None)
        if self.builtin and (not usable or self.name not in policy.override_builtins):
            return Decision("builtin", usable)
        if len(usable) > 1:
            return Decision("conflict", usable, "declared by " + _names(usable))
        if usable:
            return Decision("plugin", usable)
        reasons = {denial(lo.spec, policy) or "" for lo in self.loaders}
        return Decision("denied", self.loaders, "; ".join(sorted(reasons)))

    def status(self, loader: PluginLoader, policy: PluginPolicy) -> tuple[str, str | None]:
        """``(status, reason)`` of one claimant as ``rendezvous-di backends`` shows it."""
        denied = denial(loader.spec, policy)
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
            claimants = sorted(decision.loaders, key=lambda lo: lo.spec.distribution)
            return PluginSelectionError(
                "backend",
                self.name,
                f"backend {self.name!r} is declared by {len(claimants)} distributions: "
                f"{_names(claimants)}",
                choices=[lo.spec.distribution for lo in claimants],
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

    def servable(self, policy: PluginPolicy) -> bool:
        """Whether someone (the built-in or one plugin) may serve this name under ``policy``."""
        return self.decide(policy).kind in ("builtin", "plugin")

    def describe(
        self,
        policy: PluginPolicy,
        sources: Mapping[str, str] | None = None,
        *,
        load: bool = True,
    ) -> BackendDescription:
        """The description of whoever serves this name; a serving plugin is loaded for it.

        ``load`` off: a plugin not loaded yet is described without its options
        (its entry is overridden: the replacement answers, the plugin is not needed).

        Raises:
            PluginSelectionError: nobody may serve it (denied, conflict).
        """
        decision = self.decide(policy)
        if decision.kind == "builtin":
            return BUILTIN_BACKENDS[self.name]
        if decision.kind == "plugin":
            return decision.loaders[0].description(load=load)
        error = self.selection_error(policy, ())
        assert error is not None
        raise error

    def handler(
        self, params: RendezvousParameters, policy: PluginPolicy | None = None, sync: Any = None
    ) -> RendezvousHandler:
        """Create the handler with whoever ``policy`` lets serve this name.

        ``sync`` reaches a creator that takes it (see `PluginLoader.handler`).
        """
        decision = self.decide(policy or PluginPolicy())
        if decision.kind == "builtin":
            return create_builtin_handler(self.name, params, sync)
        if decision.kind == "plugin":
            return decision.loaders[0].handler(params, sync)
        error = self.selection_error(policy or PluginPolicy(), ())
        assert error is not None
        raise error

    def __deepcopy__(self, memo: dict[int, Any]) -> ClaimedName:
        return self  # immutable, and its loaders are process-wide

    def __repr__(self) -> str:
        return f"<ClaimedName {self.name!r} builtin={self.builtin} plugins={len(self.loaders)}>"


SHOWN_CLAIMANTS = 3
"""Distributions a message names; more are counted (500 claiming one name stay one line)."""


def _names(loaders: Iterable[PluginLoader]) -> str:
    listed = list(loaders)
    shown = ", ".join(
        f"{lo.spec.distribution!r} {lo.spec.version} ({lo.spec.value})"
        for lo in listed[:SHOWN_CLAIMANTS]
    )
    more = len(listed) - SHOWN_CLAIMANTS
    return shown + (f" and {more} more" if more > 0 else "")
