"""Adding a backend declared in code to a container's backends Selector: the one step.

A platform's own backend is a provider whose creator receives the platform's
dependencies (a client, a settings object) and the rendezvous parameters::

    class Platform(containers.DeclarativeContainer):
        config = providers.Configuration()
        client = providers.Singleton(Client)
        rendezvous = providers.Container(RendezvousContainer, config=config.rendezvous)
        add_backend(rendezvous, "platform",
                    providers.Factory(create_handler, params=rendezvous.parameters, client=client),
                    options={"zone": {"type": "str", "default": "a", "help": "placement zone"}})

The Selector's mapping is replaced as a whole by ``set_providers``, so adding
one entry means merging: this function does it, and refuses to change what
every ``RendezvousContainer`` shares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dependency_injector import providers

from ..backends.builtin import BUILTIN_BACKENDS
from ..backends.options import DeclarationError
from ..errors import ConfigError
from ..text import quote
from .catalog import declared_in_code
from .entry import BackendEntry

_CLASS_SELECTORS: list[providers.Provider[Any]] = []
"""Selectors declared on a container class, which every instance of it copies."""


def shared_by_every_instance(selector: providers.Selector[Any]) -> providers.Selector[Any]:
    """Mark a class-level Selector: `add_backend` refuses to change it for every instance.

    ``RendezvousContainer`` marks its own when it is declared, so this module
    needs no import of the container (which is declared from this package).
    """
    _CLASS_SELECTORS.append(selector)
    return selector


def add_backend(
    container: Any,
    name: str,
    provider: providers.Provider[Any],
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    replace: bool = False,
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
        options: the options the backend reads, in the ``rendezvous_options``
            format (name -> ``type``, ``default``, ``help``, optional
            ``choices``): validated, converted and listed like a built-in's.
            None passes every option through unchecked.
        replace: allow replacing an existing entry (a built-in included).

    Raises:
        ConfigError: empty name, a name already offered without ``replace``, or
            ``options`` not in the declaration format.
        TypeError: ``provider`` is not a provider, or ``container`` is the
            shared ``RendezvousContainer`` class itself.
    """
    if not isinstance(provider, providers.Provider):
        raise TypeError(
            f"backend {name!r}: expected a provider (providers.Factory(creator, ...)), "
            f"got {quote(provider)}"
        )
    selector = container.backends
    if any(selector is shared for shared in _CLASS_SELECTORS):
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
    try:
        description = declared_in_code(name, options)
    except DeclarationError as error:
        raise ConfigError(f"add_backend({name!r}).options", options, str(error)) from None
    current[name] = BackendEntry(description, provider)
    selector.set_providers(**current)
