"""``RendezvousContainer``: declarations only; the work lives in :mod:`rendezvous_di.wiring`."""

from __future__ import annotations

import os
from typing import Any

from dependency_injector import containers, providers

from .backends import BUILTIN_BACKENDS, builtin_handler
from .guard import RendezvousDynamicContainer
from .wiring import build_parameters, container_settings, fresh_run_id, open_handler


def builtin_providers(parameters: providers.Provider[Any]) -> dict[str, providers.Provider[Any]]:
    """One Factory per built-in backend, each calling torch's own creator."""
    return {
        name: providers.Factory(builtin_handler, name, params=parameters)
        for name in BUILTIN_BACKENDS
    }


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
        backends: a Selector keyed by backend name; ``backends.providers[name]``
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
    )
    parameters = providers.Callable(build_parameters, settings, selector=backends.provider)

    backends.set_selector(settings.provided.backend)
    backends.set_providers(**builtin_providers(parameters))

    handler = providers.Resource(open_handler, handler=backends, backend=settings.provided.backend)
