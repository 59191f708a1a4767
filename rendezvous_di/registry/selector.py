"""Filling the container's backends Selector: built-ins, installed plugins, torch's registry.

The Selector is declared with the built-ins; each new container adds the
plugin names installed now and the backends others registered on torch's
registry. ``Selector.set_providers`` replaces the whole mapping, so every
addition merges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dependency_injector import providers

from ..backends.builtin import BUILTIN_BACKENDS, create_builtin_handler
from ..plugins.loader import loader_for
from ..plugins.spec import by_name, discover
from .claims import ClaimedName
from .entry import BackendEntry
from .torch_bridge import torch_registry_entries


def builtin_entries(
    parameters: providers.Provider[Any], sync: providers.Provider[Any]
) -> dict[str, BackendEntry]:
    """One entry per built-in backend, each creating its handler with torch's own creator.

    Those that declare the ``sync`` option get the container's ``sync`` strategy.
    """
    return {
        name: BackendEntry(
            description,
            providers.Factory(
                create_builtin_handler, name, params=parameters, **_sync(description, sync)
            ),
        )
        for name, description in BUILTIN_BACKENDS.items()
    }


def _sync(description: Any, sync: providers.Provider[Any]) -> dict[str, Any]:
    schema = description.schema
    return {"sync": sync} if schema is not None and schema.get("sync") is not None else {}


def plugin_entries(
    specs: Iterable[Any],
    existing: Mapping[str, Any],
    parameters: providers.Provider[Any],
    policy: providers.Provider[Any],
    sync: providers.Provider[Any],
) -> dict[str, BackendEntry]:
    """One entry per backend name that plugins claim, deciding by policy at call time.

    A name a platform declared in code (not torch's built-in) is kept: code
    the user wrote wins over metadata that happens to be installed.
    """
    added: dict[str, BackendEntry] = {}
    for name, claimants in by_name(specs).items():
        current = existing.get(name)
        if current is not None and getattr(current, "about", None) is not BUILTIN_BACKENDS.get(
            name
        ):
            continue
        claim = ClaimedName(name, [loader_for(spec) for spec in claimants])
        added[name] = BackendEntry(
            claim, providers.Factory(claim.handler, params=parameters, policy=policy, sync=sync)
        )
    return added


def add_out_of_tree_backends(container: Any) -> None:
    """Merge installed plugins and torch-registry backends into ``container.backends``.

    Reads entry-point metadata only: no plugin is imported, and torch's
    registry is read only when torch's rendezvous package is imported.
    """
    selector = container.backends
    entries = dict(selector.providers)
    entries.update(
        plugin_entries(
            discover(), entries, container.parameters, container.plugin_policy, container.sync
        )
    )
    entries.update(torch_registry_entries(entries, container.parameters))
    selector.set_providers(**entries)
