"""torch's ``RendezvousParameters`` for a backend, and torch's guard on the handler it gets.

Both directions meet here: parameters the container builds from its
settings (`build_parameters`), and parameters torch's launcher built itself
and hands to a creator through the bridge (`normalize_parameters`). Either
way the selected backend's description converts and checks the options, so
torchrun's strings and a YAML file's typed values end up the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config.policy import PluginPolicy
from ..config.settings import RendezvousSettings
from ..errors import BackendMismatchError
from .catalog import Catalog

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler, RendezvousParameters


def build_parameters(settings: RendezvousSettings, selector: Any) -> RendezvousParameters:
    """Torch's ``RendezvousParameters`` for ``settings``, options converted and complete.

    A new parameters object every time: a handler may keep it.
    """
    from .._torch import rendezvous_module

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
