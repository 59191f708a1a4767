"""Plain functions the container is declared from; none of them knows the container.

Data flows one way: sources -> settings -> parameters -> selected provider -> handler.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from . import sources
from .backends import BUILTIN_BACKENDS
from .errors import BackendMismatchError, ConfigError
from .options import OptionSchema
from .policy import builtin_serves, selectable, slot_of
from .settings import PluginPolicy, RendezvousSettings, resolve_policy, resolve_settings
from .sources import Layer

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler, RendezvousParameters


def backend_schemas(
    selector: Any, policy: PluginPolicy | None = None
) -> dict[str, OptionSchema | None]:
    """Every name the backends Selector offers, with the schema of those torch's built-ins serve.

    A provider counts as the built-in only when it still calls torch's creator
    (overrides stack on top of it and keep the schema: a fake handler then
    receives the same validated parameters the real one would). A plugin that
    ``policy`` lets replace a built-in reads its options its own way: no schema.
    """
    schemas: dict[str, OptionSchema | None] = {}
    for name, provider in selector.providers.items():
        builtin = BUILTIN_BACKENDS.get(name)
        serves = builtin is not None and builtin_serves(name, provider, policy)
        schemas[name] = builtin.schema if serves and builtin else None
    return schemas


def container_layers(
    explicit: Mapping[str, Any] | None,
    config_file: str | os.PathLike[str] | None,
    environ: Mapping[str, str] | None,
    flags: Mapping[str, Any] | None = None,
) -> list[Layer]:
    """The container's sources as layers, lowest first: file < PET_* env < config < flags."""
    layers = []
    if config_file is not None:
        layers.append(sources.from_yaml(config_file, environ))
    if environ is not None:
        layers.append(sources.from_environ(environ))
    layers.append(sources.from_mapping(explicit, source="config"))
    if flags:
        layers.append(sources.from_flags(flags))
    return layers


def container_policy(
    explicit: Mapping[str, Any] | None,
    config_file: str | os.PathLike[str] | None,
    environ: Mapping[str, str] | None,
    flags: Mapping[str, Any] | None = None,
) -> PluginPolicy:
    """The ``plugins`` policy from the container's sources, valid even when the rest is not."""
    return resolve_policy(container_layers(explicit, config_file, environ, flags))


def container_settings(
    explicit: Mapping[str, Any] | None,
    config_file: str | os.PathLike[str] | None,
    environ: Mapping[str, str] | None,
    selector: Any,
    flags: Mapping[str, Any] | None = None,
    fresh_run_id: str | None = None,
    policy: PluginPolicy | None = None,
) -> RendezvousSettings:
    """Settings from the container's sources: file < PET_* environment < ``config`` < flags.

    Selecting a plugin the policy denies, or a name two distributions claim,
    fails here, with the policy value's source, before anything is imported.
    """
    layers = container_layers(explicit, config_file, environ, flags)
    settings = resolve_settings(
        layers,
        schemas=backend_schemas(selector, policy or resolve_policy(layers)),
        fresh_run_id=fresh_run_id,
    )
    slot = slot_of(selector.providers.get(settings.backend))
    if slot is not None:
        policy_sources = [
            s for k, s in sorted(settings.sources.items()) if k.startswith("plugins.")
        ]
        error = slot.selection_error(
            settings.plugins,
            selectable(selector.providers, settings.plugins),
            source=settings.source_of("backend"),
            policy_source=", ".join(dict.fromkeys(policy_sources)) or None,
        )
        if error is not None:
            raise error
    return settings


def fresh_run_id() -> str:
    """A run id for a job nobody named; the container keeps one for its whole life."""
    return uuid.uuid4().hex


def build_parameters(settings: RendezvousSettings, selector: Any) -> RendezvousParameters:
    """Torch's ``RendezvousParameters`` for ``settings``, options converted and complete."""
    from ._torch import rendezvous_module

    conf = dict(settings.conf)
    schema = backend_schemas(selector, settings.plugins).get(settings.backend)
    if schema is not None:
        conf = schema.validate(conf, require=True, check_files=True, sources=settings.sources)
        rank = conf.get("rank")
        if settings.backend == "static" and rank is not None and rank >= settings.max_nodes:
            raise ConfigError(
                "conf.rank",
                rank,
                f"must be below max_nodes ({settings.max_nodes})",
                source=settings.source_of("conf.rank"),
            )
    params: RendezvousParameters = rendezvous_module().RendezvousParameters(
        backend=settings.backend,
        endpoint=settings.endpoint,
        run_id=settings.run_id,
        min_nodes=settings.min_nodes,
        max_nodes=settings.max_nodes,
        local_addr=settings.local_addr,
        **conf,
    )
    return params


def normalize_parameters(
    params: RendezvousParameters, selector: Any, policy: PluginPolicy | None = None
) -> RendezvousParameters:
    """Validate and convert parameters someone else built (torch's launcher, a test).

    torchrun passes every option as a string and adds ``timeout`` (and ``rank``
    for static); the schema accepts those and converts the rest, exactly as for
    parameters the container builds itself.
    """
    schema = backend_schemas(selector, policy).get(params.backend)
    if schema is None:
        return params
    conf = schema.validate(params.config, require=True, check_files=True)
    converted: RendezvousParameters = type(params)(
        backend=params.backend,
        endpoint=params.endpoint,
        run_id=params.run_id,
        min_nodes=params.min_nodes,
        max_nodes=params.max_nodes,
        local_addr=params.local_addr,
        **conf,
    )
    return converted


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
