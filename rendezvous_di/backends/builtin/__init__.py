"""torch's four built-in backends, one module each: description and torch's creator.

Adding a built-in is one module here (its ``DESCRIPTION`` and ``TORCH_CREATOR``,
torch's own creator for it) plus its line in `_MODULES`. Nothing here imports
torch: torch's code is imported only when a handler is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...errors import BackendDependencyError, UnknownBackendError
from ..description import BackendDescription
from . import c10d, etcd, etcd_v2, static
from .common import Creator

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler, RendezvousParameters

_MODULES = (c10d, etcd, etcd_v2, static)

BUILTIN_BACKENDS: dict[str, BackendDescription] = {
    m.DESCRIPTION.name: m.DESCRIPTION for m in _MODULES
}
"""Each built-in backend's description, by name."""

_CREATORS: dict[str, Creator] = {m.DESCRIPTION.name: m.TORCH_CREATOR for m in _MODULES}
_WAITS_ON_EVENTS = frozenset({c10d.DESCRIPTION.name})
"""Built-ins whose creator takes a ``sync`` strategy (`dynamic.creator` with signals)."""


def builtin_creator(name: str) -> Callable[[RendezvousParameters], RendezvousHandler]:
    """torch's own creator of the built-in backend ``name``, the code torchrun runs for it.

    For a platform backend that serves a built-in its own way (placed, named or
    configured by the platform). Imports torch.

    Raises:
        UnknownBackendError: ``name`` is not one of torch's built-ins.
        BackendDependencyError: the backend needs a module that is not installed.
    """
    description = BUILTIN_BACKENDS.get(name)
    if description is None:
        raise UnknownBackendError(name, BUILTIN_BACKENDS)
    missing = description.missing_dependency()
    if missing is not None:
        raise BackendDependencyError(name, *missing)
    creator = _CREATORS[name]
    before_create = description.before_create
    if before_create is None:
        return creator

    def checked_creator(params: RendezvousParameters, **sync: Any) -> RendezvousHandler:
        before_create(params)
        return creator(params, **sync)

    return checked_creator


def create_builtin_handler(
    name: str, params: RendezvousParameters, sync: Any = None
) -> RendezvousHandler:
    """Create the built-in backend ``name``'s handler with torch's own creator.

    ``sync`` (the container's strategy) reaches the backends that wait on events.
    """
    creator = builtin_creator(name)
    if sync is None or name not in _WAITS_ON_EVENTS:
        return creator(params)
    takes_sync: Any = creator  # a dynamic.DynamicCreator (or its checked wrapper)
    return takes_sync(params, sync=sync)  # type: ignore[no-any-return]


def builtin_options(name: str) -> dict[str, dict[str, object]]:
    """The options of built-in ``name`` as a ``rendezvous_options`` mapping.

    A platform backend that passes its options on to a built-in declares
    them with this: ``add_backend(c, "mine", provider, options=builtin_options("c10d"))``.
    """
    description = BUILTIN_BACKENDS.get(name)
    if description is None or description.schema is None:
        raise UnknownBackendError(name, BUILTIN_BACKENDS)
    return description.schema.declaration()
