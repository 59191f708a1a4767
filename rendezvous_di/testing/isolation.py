"""Undo what a test did to a container, without ``reset_override()``.

A test may override providers, wire modules, create the handler (a
Resource) and put the container's backends into torch's process-global
registry. `ContainerIsolation` records the state before the test and
puts it back after: resources shut down, modules unwired, each provider's
override stack restored (on the container and on the ``RendezvousContainer``
class every later container copies), torch's registry entries restored.
``reset_override()`` is never used: it also wipes configuration values.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from dependency_injector import providers

from .overrides import remove_override

_REGISTRY_MODULE = "torch.distributed.elastic.rendezvous"


class RendezvousLeakWarning(UserWarning):
    """A test changed shared state (a container class, torch's registry); it was undone."""


def _stacks(container: Any) -> dict[int, tuple[providers.Provider[Any], tuple[Any, ...]]]:
    return {id(p): (p, tuple(p.overridden)) for p in container.traverse()}


def _restore(provider: providers.Provider[Any], wanted: tuple[Any, ...]) -> bool:
    """Give ``provider`` back the override stack ``wanted``; True when something changed."""
    current = tuple(provider.overridden)
    if len(current) == len(wanted) and all(a is b for a, b in zip(current, wanted, strict=True)):
        return False
    for item in reversed(current):
        if not any(item is w for w in wanted):
            remove_override(provider, item)
    return True


def _torch_registry() -> Any:
    module = sys.modules.get(_REGISTRY_MODULE)
    return None if module is None else module.rendezvous_handler_registry


class ContainerIsolation:
    """The state a test may change, recorded before it runs; `restore` puts it back."""

    def __init__(self, container: Any, shared: Any) -> None:
        self.container = container
        self.shared = shared
        self._own = _stacks(container)
        self._shared = _stacks(shared)
        registry = _torch_registry()
        self._registry: dict[str, Any] | None = (
            None if registry is None else dict(registry._registry)
        )

    def restore(self) -> None:
        self.container.shutdown_resources()
        self.container.unwire()
        for provider, wanted in self._own.values():
            _restore(provider, wanted)
        for provider, _ in _stacks(self.container).values():
            if id(provider) not in self._own and provider.overridden:
                _restore(provider, ())
        leaked = [repr(p) for p, wanted in self._shared.values() if _restore(p, wanted)]
        if leaked:
            warnings.warn(
                f"the test overrode providers of {self.shared.__name__} itself (shared by every "
                f"container) and did not undo it: {', '.join(leaked)}; undone",
                RendezvousLeakWarning,
                stacklevel=1,
            )
        self._restore_registry()

    def _restore_registry(self) -> None:
        from ..registry.torch_bridge import ContainerCreator

        registry = _torch_registry()
        if registry is None:
            return
        stale = [
            name
            for name, creator in registry._registry.items()
            if isinstance(creator, ContainerCreator) and creator.container is self.container
        ]
        for name in stale:
            before = None if self._registry is None else self._registry.get(name)
            if before is None and self._registry is None:
                before = _builtin_creator(name)
            if before is None:
                del registry._registry[name]
            else:
                registry._registry[name] = before
        if stale:
            warnings.warn(
                f"install() of the test's container was not undone for {', '.join(stale)}; "
                "torch's registry was restored (use the Installation as a context manager "
                "or rendezvous_override.install())",
                RendezvousLeakWarning,
                stacklevel=1,
            )


def _builtin_creator(name: str) -> Any:
    from ..backends.builtin import BUILTIN_BACKENDS, builtin_creator

    return builtin_creator(name) if name in BUILTIN_BACKENDS else None
