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

from .backends.catalog import Catalog
from .config.layers import Layer
from .config.policy import PluginPolicy
from .config.settings import RendezvousSettings, resolve_policy, resolve_settings
from .errors import BackendMismatchError

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler, RendezvousParameters

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


def build_parameters(settings: RendezvousSettings, selector: Any) -> RendezvousParameters:
    """Torch's ``RendezvousParameters`` for ``settings``, options converted and complete.

    A new parameters object every time: a handler may keep it.
    """
    from ._torch import rendezvous_module

    description = Catalog(selector.providers).describe(
        settings.backend, settings.plugins, settings.sources
    )
    conf = description.convert_options(settings.conf, settings.sources, complete=True)
    return _parameters(rendezvous_module().RendezvousParameters, settings, conf)


def normalize_parameters(
    params: RendezvousParameters, selector: Any, policy: PluginPolicy
) -> RendezvousParameters:
    """Validate and convert parameters someone else built (torch's launcher, a test).

    torchrun passes every option as a string and adds ``timeout`` (and ``rank``
    for static); the backend's schema accepts those and converts the rest,
    exactly as for parameters the container builds itself, and its settings
    check (static's rank below ``max_nodes``) applies too.
    """
    description = Catalog(selector.providers).describe(params.backend, policy)
    if description.schema is None:
        return params
    source = "torch's parameters"
    sources = {f"conf.{key}": source for key in params.config}
    conf = description.convert_options(params.config, sources, complete=True)
    view = RendezvousSettings(**_fields(params), conf=conf, plugins=policy)
    description.check(view.with_sources({**sources, "endpoint": source}))
    return _parameters(type(params), params, conf)


_SHARED_FIELDS = ("backend", "endpoint", "run_id", "min_nodes", "max_nodes", "local_addr")
"""What torch's ``RendezvousParameters`` and our settings both have, by the same names."""


def _fields(given: Any) -> dict[str, Any]:
    return {name: getattr(given, name) for name in _SHARED_FIELDS}


def _parameters(cls: Any, given: Any, conf: dict[str, Any]) -> RendezvousParameters:
    """``cls(...)`` with ``given``'s fields (settings or parameters) and the options ``conf``."""
    params: RendezvousParameters = cls(**_fields(given), **conf)
    return params


def check_handler(handler: RendezvousHandler, backend: str, provider: str) -> RendezvousHandler:
    """torch's own guard: the handler must serve the backend that was asked for."""
    got = handler.get_backend()
    if got != backend:
        raise BackendMismatchError(backend, got, provider)
    return handler


def open_handler(handler: RendezvousHandler, backend: str) -> Iterator[RendezvousHandler]:
    """The handler's lifecycle: checked on creation, shut down with the container's resources.

    ``shutdown()`` closes the rendezvous and stops the keep-alive thread; the
    store it held is released with the last reference, which the container drops.
    """
    yield check_handler(handler, backend, f"backends.providers[{backend!r}]")
    handler.shutdown()
