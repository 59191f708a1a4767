"""``RendezvousContainer``: declarations only; the work lives in :mod:`rendezvous_di.wiring`."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from dependency_injector import containers, providers

from .backends import BUILTIN_BACKENDS, builtin_handler
from .guard import RendezvousDynamicContainer
from .memo import ResolutionMemo
from .plugins import PluginSpec, by_name, discover, loader_for
from .policy import BackendSlot, slot_handler
from .torch_registry import torch_registry_providers
from .wiring import (
    build_parameters,
    container_policy,
    container_settings,
    fresh_run_id,
    open_handler,
)


def builtin_providers(parameters: providers.Provider[Any]) -> dict[str, providers.Provider[Any]]:
    """One Factory per built-in backend, each calling torch's own creator."""
    return {
        name: providers.Factory(builtin_handler, name, params=parameters)
        for name in BUILTIN_BACKENDS
    }


def plugin_providers(
    specs: Iterable[PluginSpec],
    existing: Mapping[str, providers.Provider[Any]],
    parameters: providers.Provider[Any],
    policy: providers.Provider[Any],
) -> dict[str, providers.Provider[Any]]:
    """One Factory per backend name that plugins claim, deciding by policy at call time.

    A name a platform declared in code (not torch's built-in) is kept: code
    the user wrote wins over metadata that happens to be installed.
    """
    added: dict[str, providers.Provider[Any]] = {}
    for name, claimants in by_name(specs).items():
        current = existing.get(name)
        if current is not None and getattr(current, "provides", None) is not builtin_handler:
            continue
        slot = BackendSlot(name, [loader_for(spec) for spec in claimants])
        added[name] = providers.Factory(slot_handler, slot, params=parameters, policy=policy)
    return added


def add_out_of_tree_backends(container: Any) -> None:
    """Merge installed plugins and torch-registry backends into ``container.backends``.

    ``Selector.set_providers`` replaces the whole mapping, so the built-ins are
    passed again. Reads entry-point metadata only: no plugin is imported, and
    torch's registry is read only when torch's rendezvous package is imported.
    """
    selector = container.backends
    entries = dict(selector.providers)
    entries.update(
        plugin_providers(discover(), entries, container.parameters, container.plugin_policy)
    )
    entries.update(torch_registry_providers(entries, container.parameters))
    selector.set_providers(**entries)


class RendezvousContainer(containers.DeclarativeContainer):
    """Torch's rendezvous backends as providers, chosen by configuration.

    Providers:
        config: explicit values (highest precedence): ``backend``, ``endpoint``,
            ``run_id``, ``min_nodes``/``max_nodes`` or ``nnodes``, ``local_addr``,
            ``conf``, ``plugins``.
        config_file: path of a YAML file with the same keys (lowest precedence).
        environ: where PET_* variables are read; override with ``{}`` to ignore them.
        flags: torchrun flags by settings key (set by the CLI), above ``config``.
        settings: the effective, validated :class:`~rendezvous_di.RendezvousSettings`.
        parameters: torch's ``RendezvousParameters`` built from them.
        plugin_policy: the ``plugins`` block alone (valid even when other settings
            are not), which decides who serves plugin-claimed names.
        backends: a Selector keyed by backend name: torch's built-ins, one entry
            per installed ``torchrun.handlers`` plugin name (added when the
            container is created; imported only when used) and the backends
            others registered on torch's registry. ``backends.providers[name]``
            can be overridden and the override reaches ``handler``.
        handler: the selected backend's handler, a Resource: one per container,
            shut down by ``shutdown_resources()``.

    Instances are :class:`~rendezvous_di.guard.RendezvousDynamicContainer`:
    ``container.c10d`` is the Selector's entry, and patching a provider
    attribute with a non-provider fails with a message saying how to override.
    """

    instance_type = RendezvousDynamicContainer

    config = providers.Configuration()
    config_file: providers.Provider[str | os.PathLike[str] | None] = providers.Object(None)
    environ = providers.Object(os.environ)
    flags: providers.Provider[dict[str, object] | None] = providers.Object(None)
    fresh_run_id = providers.Singleton(fresh_run_id)
    resolution_memo = providers.Singleton(ResolutionMemo)
    plugin_policy = providers.Callable(
        container_policy,
        explicit=config,
        config_file=config_file,
        environ=environ,
        flags=flags,
        memo=resolution_memo,
    )

    # The Selector's key and its entries depend on settings, and settings need the
    # Selector's names to validate the backend: declare it first, complete it below.
    backends = providers.Selector()

    settings = providers.Callable(
        container_settings,
        explicit=config,
        config_file=config_file,
        environ=environ,
        selector=backends.provider,
        flags=flags,
        fresh_run_id=fresh_run_id,
        policy=plugin_policy.provider,  # asked on a change of sources only
        memo=resolution_memo,
    )
    parameters = providers.Callable(
        build_parameters, settings, selector=backends.provider, memo=resolution_memo
    )

    backends.set_selector(settings.provided.backend)
    backends.set_providers(**builtin_providers(parameters))

    handler = providers.Resource(open_handler, handler=backends, backend=settings.provided.backend)

    def __new__(cls, **overriding_providers: Any) -> Any:
        # Discovery belongs to creation, not to import: each new container sees
        # what is installed now. Instances are DynamicContainer copies, hence the
        # module-level function rather than a method.
        container = super().__new__(cls, **overriding_providers)
        add_out_of_tree_backends(container)
        return container
