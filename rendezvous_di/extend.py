"""Adding a backend declared in code to a container's backends Selector: the one step.

A platform's own backend is a provider whose creator receives the platform's
dependencies (a client, a settings object) and the rendezvous parameters::

    class Platform(containers.DeclarativeContainer):
        config = providers.Configuration()
        client = providers.Singleton(Client)
        rendezvous = providers.Container(RendezvousContainer, config=config.rendezvous)
        add_backend(rendezvous, "platform",
                    providers.Factory(create_handler, params=rendezvous.parameters, client=client))

The Selector's mapping is replaced as a whole by ``set_providers``, so adding
one entry means merging: this function does it, and refuses to change what
every ``RendezvousContainer`` shares.
"""

from __future__ import annotations

from typing import Any

from dependency_injector import providers

from .backends import BUILTIN_BACKENDS
from .errors import ConfigError


def add_backend(
    container: Any, name: str, provider: providers.Provider[Any], *, replace: bool = False
) -> None:
    """Offer ``provider`` as backend ``name`` in ``container``'s backends Selector.

    Args:
        container: a ``RendezvousContainer`` instance, a ``providers.Container``
            nesting one (in a platform's class body), or a container class made
            with ``@containers.copy(RendezvousContainer)``.
        name: the backend name (``config.backend`` selects it; listed by
            ``rendezvous-di backends`` with source ``container``).
        provider: called with ``params=RendezvousParameters`` by torch's registry
            bridge; declare ``params=<container>.parameters`` for direct use.
        replace: allow replacing an existing entry (a built-in included).

    Raises:
        ConfigError: empty name, or a name already offered without ``replace``.
        TypeError: ``provider`` is not a provider, or ``container`` is the
            shared ``RendezvousContainer`` class itself.
    """
    from .container import RendezvousContainer

    if not isinstance(provider, providers.Provider):
        raise TypeError(
            f"backend {name!r}: expected a provider (providers.Factory(creator, ...)), "
            f"got {provider!r}"
        )
    selector = container.backends
    if selector is RendezvousContainer.backends:
        raise TypeError(
            "add_backend would change the backends of every RendezvousContainer; add it to "
            "an instance, to a providers.Container(RendezvousContainer) in your container, "
            "or to a class decorated with @containers.copy(RendezvousContainer)"
        )
    if not name or not isinstance(name, str):
        raise ConfigError("backend", name, "the backend name must be a non-empty string")
    current = dict(selector.providers)
    if name in current and not replace:
        kind = "a built-in" if name in BUILTIN_BACKENDS else "already a backend"
        raise ConfigError(
            "backend",
            name,
            f"{name!r} is {kind} of this container",
            choices=sorted(current),
            hint="pick another name, or pass replace=True to replace it",
        )
    current[name] = provider
    selector.set_providers(**current)


def renamed(handler: Any, backend: str) -> Any:
    """``handler`` reporting ``backend`` from ``get_backend()``, everything else delegated.

    For a platform backend that serves a built-in (c10d, placed its own way)
    under the platform's name. Imports torch.
    """
    from .named import NamedHandler

    return NamedHandler(handler, backend)
