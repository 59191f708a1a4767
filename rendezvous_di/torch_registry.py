"""The bridge to torch's process-global ``rendezvous_handler_registry``.

torch's launcher (``torchrun``, ``elastic_launch``, ``get_rendezvous_handler``)
looks handlers up by name in that registry. :func:`install` puts the
container's backends there, so torch's own code gets its handlers from the
container, overrides included, and :meth:`Installation.uninstall` puts back
exactly what was there before.

torch's registry has no unregister and refuses to replace a name, so the
bridge writes its private ``_registry`` mapping: the only way to swap a
built-in, and the reason this lives in one small module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ._torch import rendezvous_module
from .wiring import check_handler, normalize_parameters

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler, RendezvousParameters

_lock = threading.Lock()


class ContainerCreator:
    """A torch creator that resolves the container's provider for ``backend`` on each call.

    The provider is looked up at call time, so overriding
    ``container.backends.providers[backend]`` after :func:`install` is honoured.
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
        params = normalize_parameters(params, selector)
        handler: RendezvousHandler = selector.providers[self.backend](params=params)
        check_handler(handler, self.backend, f"backends.providers[{self.backend!r}]")
        if self.on_create is not None:
            self.on_create(self.backend, handler)
        return handler

    def __repr__(self) -> str:
        return f"<rendezvous-di creator for {self.backend!r}>"


class Installation:
    """Backends placed in torch's registry; undo with :meth:`uninstall` or a ``with`` block."""

    def __init__(self, registry: Any, previous: dict[str, Any]) -> None:
        self._registry = registry
        self._previous = previous
        self.names = tuple(previous)

    def uninstall(self) -> None:
        """Restore every name to the creator it had before (or remove it). Idempotent."""
        with _lock:
            for name, creator in self._previous.items():
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

    ``on_create(backend, handler)`` is called for every handler torch obtains
    through the bridge (the CLI reports it; tests observe it).
    """
    registry = rendezvous_module().rendezvous_handler_registry
    chosen = list(container.backends.providers) if names is None else list(names)
    with _lock:
        previous = {name: registry._registry.get(name) for name in chosen}
        for name in chosen:
            registry._registry[name] = ContainerCreator(container, name, on_create)
    return Installation(registry, previous)
