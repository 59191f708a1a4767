"""The container instance type: refuses attribute patches that would silently miss.

``mocker.patch.object(container, "handler", mock)`` replaces an attribute of
the container, but the providers that depend on ``handler`` (wired
``@inject`` functions, torch's registry through the bridge) and the backends
Selector keep the real provider, so the test passes while the code under test
still talks to the real backend. dependency-injector's answer is to override
the provider. This instance type makes the mistake fail at once with a
message that says so, and exposes each backend as an attribute
(``container.c10d``) that *is* the Selector's entry, so overriding it works.
"""

from __future__ import annotations

from typing import Any

from dependency_injector import containers, providers

from .errors import ProviderPatchError


class RendezvousDynamicContainer(containers.DynamicContainer):
    """What ``RendezvousContainer()`` returns: a DynamicContainer with two additions.

    - ``container.<backend>`` (``getattr(container, "etcd-v2")``) is the backends
      Selector's provider for that name, the same object, so overriding it is honoured.
    - Assigning a non-provider to a provider attribute or a backend name raises
      [`ProviderPatchError`][rendezvous_di.ProviderPatchError], which says how to override instead.
    """

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: look the name up among the backends.
        selector = self.__dict__.get("backends")
        if isinstance(selector, providers.Selector) and name in selector.providers:
            return selector.providers[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if not isinstance(value, providers.Provider) and not name.startswith("_"):
            current = self.__dict__.get("providers")
            if isinstance(current, dict) and name in current:
                raise ProviderPatchError(name, value, backend=False)
            if name not in self.__dict__ and self._is_backend(name):
                raise ProviderPatchError(name, value, backend=True)
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if name not in self.__dict__ and self._is_backend(name):
            return  # nothing was set (the patch was refused): leave the Selector alone
        super().__delattr__(name)

    def _is_backend(self, name: str) -> bool:
        selector = self.__dict__.get("backends")
        return isinstance(selector, providers.Selector) and name in selector.providers
