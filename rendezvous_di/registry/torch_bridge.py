"""The bridge to torch's process-global ``rendezvous_handler_registry``.

torch's launcher (``torchrun``, ``elastic_launch``, ``get_rendezvous_handler``)
looks handlers up by name in that registry. `install` puts the
container's backends there, so torch's own code gets its handlers from the
container, overrides included, and `Installation.uninstall` puts back
exactly what was there before.

The other way round, `add_torch_registry_backends` (run at container creation when torch's
rendezvous package is already imported, and by `install`) turns
backends that other code registered on torch's registry into providers of
the container, with source ``torch-registry``.

torch's registry has no unregister, no listing and refuses to replace a name,
so the bridge reads and writes its private ``_registry`` mapping: the only
way to swap a built-in, and the reason this lives in one small module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from dependency_injector import providers

from .._torch import loaded_rendezvous_module, rendezvous_module
from ..backends.builtin import BUILTIN_BACKENDS
from ..backends.description import BackendDescription
from ..backends.options import DeclarationError, declared_schema
from ..errors import ConfigError, UnknownBackendError
from ..resource import one_resolution
from .entry import BackendEntry
from .parameters import check_handler, normalize_parameters

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler, RendezvousParameters

_lock = threading.Lock()


class ContainerCreator:
    """A torch creator that resolves the container's provider for ``backend`` on each call.

    The provider is looked up at call time, so overriding
    ``container.backends.providers[backend]`` after [`install`][rendezvous_di.install] is honoured.
    """

    def __init__(
        self,
        container: Any,
        backend: str,
        on_create: Callable[[str, RendezvousHandler], None] | None = None,
    ) -> None:
        self.container = container
        self.backend = backend
        self.on_create = on_create

    def __call__(self, params: RendezvousParameters) -> RendezvousHandler:
        selector = self.container.backends
        with one_resolution():  # the policy and a provider's own settings: one read of sources
            params = normalize_parameters(params, selector, self.container.plugin_policy())
            handler: RendezvousHandler = selector.providers[self.backend](params=params)
        check_handler(handler, self.backend, f"backends.providers[{self.backend!r}]")
        if self.on_create is not None:
            self.on_create(self.backend, handler)
        return handler

    def __repr__(self) -> str:
        return f"<rendezvous-di creator for {self.backend!r}>"


def call_creator(
    creator: Callable[[RendezvousParameters], RendezvousHandler], params: RendezvousParameters
) -> RendezvousHandler:
    """What a ``torch-registry`` entry provides: the registered creator's handler.

    The creator is captured when the entry is made, not looked up at call time: after
    [`install`][rendezvous_di.install] the registry holds our own `ContainerCreator` for
    that name, and looking it up would call ourselves.
    """
    return creator(params)


def origin_of(creator: object) -> str:
    """Where a creator was defined, for listings (``module.qualname``)."""
    module = getattr(creator, "__module__", None) or "?"
    qualname = getattr(creator, "__qualname__", None) or type(creator).__qualname__
    return f"{module}.{qualname}"


def registered_description(name: str, creator: object) -> BackendDescription:
    """A creator found on torch's registry, described; its ``rendezvous_options`` are honoured.

    An invalid declaration does not stop every container from being created:
    the backend is listed with the problem and refused only when selected.
    """
    summary = f"registered on torch's registry: {origin_of(creator)}"
    try:
        schema = declared_schema(name, creator)
    except DeclarationError as error:
        problem = f"{origin_of(creator)} declares invalid options: {error}"

        def refuse(settings: Any) -> None:
            raise ConfigError("backend", name, problem, source=settings.source_of("backend"))

        return BackendDescription(
            name, "torch-registry", f"{summary} (invalid options)", settings_check=refuse
        )
    return BackendDescription(name=name, origin="torch-registry", summary=summary, schema=schema)


def foreign_creators(known: Iterable[str]) -> dict[str, Any]:
    """Creators others registered on torch's registry under names not in ``known``.

    Never imports torch: when its rendezvous package is not imported yet, its
    registry does not exist and nobody can have registered anything.
    Torch's built-ins and the creators [`install`][rendezvous_di.install] placed are not foreign.
    """
    module = loaded_rendezvous_module()
    if module is None:
        return {}
    skip = set(known) | set(BUILTIN_BACKENDS)
    with _lock:
        entries = list(module.rendezvous_handler_registry._registry.items())
    return {
        name: creator
        for name, creator in entries
        if name not in skip and not isinstance(creator, ContainerCreator)
    }


def torch_registry_entries(known: Iterable[str], parameters: Any) -> dict[str, BackendEntry]:
    """One entry per foreign creator, fed the container's parameters like any backend."""
    return {
        name: BackendEntry(
            registered_description(name, creator),
            providers.Factory(call_creator, creator, params=parameters),
        )
        for name, creator in foreign_creators(known).items()
    }


def add_torch_registry_backends(container: Any) -> list[str]:
    """Add backends registered on torch's registry by other code to ``container``; return them.

    Container creation does this already; call it again after importing code
    that registers backends later. Names the container already has are kept.
    """
    selector = container.backends
    entries = dict(selector.providers)
    added = torch_registry_entries(entries, container.parameters)
    if added:
        selector.set_providers(**entries, **added)
    return sorted(added)


class Installation:
    """Backends placed in torch's registry.

    Undo with [`uninstall`][rendezvous_di.Installation.uninstall] or a ``with`` block.
    """

    def __init__(self, registry: Any, previous: dict[str, Any], placed: dict[str, Any]) -> None:
        self._registry = registry
        self._previous = previous
        self._placed = placed
        self.names = tuple(previous)

    @property
    def active(self) -> bool:
        return bool(self._previous)

    def uninstall(self) -> None:
        """Restore every name to the creator it had before (or remove it). Idempotent.

        A name someone re-registered since is left alone: it is theirs now.
        """
        with _lock:
            for name, creator in self._previous.items():
                if self._registry._registry.get(name) is not self._placed.get(name):
                    continue
                if creator is None:
                    self._registry._registry.pop(name, None)
                else:
                    self._registry._registry[name] = creator
            self._previous = {}

    def __enter__(self) -> Installation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()


def install(
    container: Any,
    names: Iterable[str] | None = None,
    *,
    on_create: Callable[[str, RendezvousHandler], None] | None = None,
) -> Installation:
    """Register the container's backends (all, or ``names``) in torch's registry.

    Backends others registered on torch's registry are added first (see
    [`add_torch_registry_backends`][rendezvous_di.add_torch_registry_backends]) and, being
    torch's already, are not registered again.
    Plugins stay lazy: a plugin backend is imported when torch asks for it.
    ``on_create(backend, handler)`` is called for every handler torch obtains
    through the bridge (the CLI reports it; tests observe it).
    Use the result as a context manager, or call ``uninstall()``.
    """
    registry = rendezvous_module().rendezvous_handler_registry
    add_torch_registry_backends(container)
    selector = container.backends
    if names is None:
        chosen = [
            name
            for name, entry in selector.providers.items()
            if getattr(getattr(entry, "about", None), "origin", None) != "torch-registry"
        ]
    else:
        chosen = list(names)
        unknown = [n for n in chosen if n not in selector.providers]
        if unknown:
            raise UnknownBackendError(unknown[0], selector.providers)
    with _lock:
        previous = {name: registry._registry.get(name) for name in chosen}
        placed = {name: ContainerCreator(container, name, on_create) for name in chosen}
        registry._registry.update(placed)
    return Installation(registry, previous, placed)
