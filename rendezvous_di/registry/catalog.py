"""The backends a container offers, read through their descriptions.

Settings validation asks the catalog for the selected name's description;
``rendezvous-di check`` for its probe; the listing for every entry. A
Selector entry that is not a `BackendEntry` (a provider someone put in
with ``set_providers`` directly) is described as declared in code, with its
options passed through.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..backends.builtin import BUILTIN_BACKENDS
from ..backends.description import BackendDescription
from ..backends.options import schema_from_declaration
from ..errors import ConfigError

if TYPE_CHECKING:
    from ..config.policy import PluginPolicy
    from ..config.settings import RendezvousSettings


class Catalog:
    """A read-only view of backend entries by name (a Selector's ``providers``)."""

    def __init__(self, entries: Mapping[str, Any]) -> None:
        self.entries = entries

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def names(self) -> list[str]:
        """Every name offered, sorted."""
        return sorted(self.entries)

    def selectable(self, policy: PluginPolicy) -> list[str]:
        """The names that ``policy`` lets someone select (denied and conflicting ones drop out)."""
        return sorted(
            name
            for name, entry in self.entries.items()
            if (claim := getattr(entry, "claim", None)) is None or claim.servable(policy)
        )

    def describe(
        self, name: str, policy: PluginPolicy, sources: Mapping[str, str] | None = None
    ) -> BackendDescription:
        """The description of ``name`` under ``policy``; ``sources`` name where values came from.

        Raises:
            PluginSelectionError: the policy lets nobody serve ``name``, with the
                sources of the backend name and of the policy.
        """
        entry = self.entries[name]
        claim = getattr(entry, "claim", None)
        if claim is not None:
            sources = sources or {}
            policy_from = [s for k, s in sorted(sources.items()) if k.startswith("plugins.")]
            error = claim.selection_error(
                policy,
                self.selectable(policy),
                source=sources.get("backend"),
                policy_source=", ".join(dict.fromkeys(policy_from)) or None,
            )
            if error is not None:
                raise error
            try:
                return entry.describe(policy, sources)  # type: ignore[no-any-return]
            except ConfigError as refused:  # a plugin that declares invalid options
                raise refused.with_source(sources.get("backend")) from None
        return fixed_description(name, entry)


def selected_description(container: Any, settings: RendezvousSettings) -> BackendDescription:
    """The description of the backend ``settings`` select among ``container``'s backends."""
    return Catalog(container.backends.providers).describe(
        settings.backend, settings.plugins, settings.sources
    )


def fixed_description(name: str, entry: Any) -> BackendDescription:
    """The description of an entry no plugin claim decides: its own, or "declared in code".

    A provider put into the Selector directly (``set_providers``) carries none:
    it is the platform's, with its options passed through. An entry may also be
    a description itself (the built-ins' catalog, resolved without a container).
    """
    about = entry if isinstance(entry, BackendDescription) else getattr(entry, "about", None)
    return about if isinstance(about, BackendDescription) else declared_in_code(name)


def declared_in_code(name: str, options: Any = None) -> BackendDescription:
    """The description of a backend a platform declared in code, with its declared options.

    Raises:
        DeclarationError: ``options`` does not follow the ``rendezvous_options`` format.
    """
    return BackendDescription(
        name=name,
        origin="container",
        summary="declared in code",
        schema=None if options is None else schema_from_declaration(name, options),
    )


def builtin_catalog() -> Catalog:
    """torch's four built-ins alone (settings resolved without a container)."""
    return Catalog(BUILTIN_BACKENDS)
