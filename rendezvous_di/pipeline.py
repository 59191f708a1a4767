"""The plain functions the container is declared from; none of them knows the container.

Data flows one way: sources -> layers -> settings -> parameters -> selected
provider -> handler. Each step here takes the previous one's result and the
backends' descriptions (through a `Catalog`
over the Selector's entries).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from dependency_injector import providers

from .config.layers import Layer
from .config.policy import PluginPolicy
from .config.settings import RendezvousSettings, resolve_policy, resolve_settings
from .registry.catalog import Catalog
from .registry.parameters import check_handler

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler

T = TypeVar("T")


class ResolutionCache:
    """A container's last policy and settings, with the public inputs they came from.

    One ``handler()`` asks for the settings three times (the Selector's key,
    the parameters, the handler's backend check). Each source is still read
    every time, through its public API (``os.environ.get``, a file's
    ``stat``); what is reused is the merging and validation when every layer
    compares equal, the Selector offers the same entries (compared by
    identity) and the policy and fresh run id are the same.
    """

    def __init__(self) -> None:
        self._last: dict[str, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, key: Any, compute: Callable[[], T]) -> T:
        """``compute()``, unless the last value of ``kind`` was computed from an equal ``key``."""
        last = self._last.get(kind)
        if last is not None and last[0] == key:
            value: T = last[1]
            return value
        value = compute()
        self.put(kind, key, value)
        return value

    def put(self, kind: str, key: Any, value: Any) -> None:
        """Remember ``value`` as the last one of ``kind``, computed from ``key``."""
        with self._lock:
            self._last[kind] = (key, value)


def policy_from(layers: Sequence[Layer], cache: ResolutionCache | None = None) -> PluginPolicy:
    """The ``plugins`` policy from the layers, valid even when the other settings are not."""
    key = tuple(layers)
    if cache is None:
        return resolve_policy(key)
    return cache.get("policy", key, lambda: resolve_policy(key))


def settings_from(
    layers: Sequence[Layer],
    selector: Any,
    fresh_run_id: str | None = None,
    policy: PluginPolicy | providers.Provider[PluginPolicy] | None = None,
    cache: ResolutionCache | None = None,
) -> RendezvousSettings:
    """Settings from the layers, validated against the Selector's backend descriptions.

    Selecting a plugin the policy denies, or a name two distributions claim,
    fails here, with the policy value's source, before anything is imported.
    ``policy`` is a policy, or the container's ``plugin_policy`` provider: the
    layers decide the policy themselves, so the provider is asked only when it
    is overridden (the override then wins over the layers' ``plugins`` values).
    """
    if isinstance(policy, providers.Provider):
        policy = policy() if policy.overridden else None
    entries = selector.providers
    catalog = Catalog(entries)

    def compute() -> RendezvousSettings:
        return resolve_settings(layers, catalog=catalog, fresh_run_id=fresh_run_id, policy=policy)

    if cache is None:
        return compute()

    def compute_with_server() -> tuple[RendezvousSettings, Any, Any]:
        settings = compute()
        entry = entries.get(settings.backend)
        return settings, entry, getattr(entry, "overridden", ())

    key = (tuple(layers), tuple(entries.values()), policy, fresh_run_id)
    settings, entry, overridden = cache.get("settings", key, compute_with_server)
    # An override of the selected entry changes its description (an overridden plugin
    # entry is not imported for its options): the same layers may then validate otherwise.
    if getattr(entry, "overridden", ()) != overridden:
        settings, entry, overridden = compute_with_server()
        cache.put("settings", key, (settings, entry, overridden))
    return settings


def open_handler(handler: RendezvousHandler, backend: str) -> Iterator[RendezvousHandler]:
    """The handler's lifecycle: checked on creation, shut down with the container's resources.

    ``shutdown()`` closes the rendezvous and stops the keep-alive thread; the
    store it held is released with the last reference, which the container drops.
    """
    yield check_handler(handler, backend, f"backends.providers[{backend!r}]")
    handler.shutdown()
