"""Plain functions the container is declared from; none of them knows the container.

Data flows one way: sources -> settings -> parameters -> selected provider -> handler.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from . import sources
from .backends import BUILTIN_BACKENDS
from .errors import BackendMismatchError, ConfigError
from .memo import ResolutionMemo
from .options import OptionSchema
from .policy import PluginPolicy, PolicySource, builtin_serves, selectable, slot_of
from .settings import RendezvousSettings, resolve_policy, resolve_settings
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
    memo: ResolutionMemo | None = None,
) -> PluginPolicy:
    """The ``plugins`` policy from the container's sources, valid even when the rest is not."""

    def compute() -> PluginPolicy:
        return resolve_policy(container_layers(explicit, config_file, environ, flags))

    if memo is None:
        return compute()
    return memo.get("policy", memo.sources_key(explicit, config_file, environ, flags), compute)


def container_settings(
    explicit: Mapping[str, Any] | None,
    config_file: str | os.PathLike[str] | None,
    environ: Mapping[str, str] | None,
    selector: Any,
    flags: Mapping[str, Any] | None = None,
    fresh_run_id: str | None = None,
    policy: PolicySource = None,
    memo: ResolutionMemo | None = None,
) -> RendezvousSettings:
    """Settings from the container's sources: file < PET_* environment < ``config`` < flags.

    Selecting a plugin the policy denies, or a name two distributions claim,
    fails here, with the policy value's source, before anything is imported.
    ``policy`` is a policy, or the container's ``plugin_policy`` provider.
    """
    # The container's own policy follows from the same sources: _settings resolves it from
    # its layers. A policy passed in, or an override of the provider, is decided elsewhere:
    # asked once here, and part of the key.
    derived = callable(policy) and not getattr(policy, "overridden", ())
    given = None if derived else (policy() if callable(policy) else policy)

    def compute() -> RendezvousSettings:
        return _settings(explicit, config_file, environ, selector, flags, fresh_run_id, given)

    if memo is None:
        return compute()
    entries = selector.providers
    # Besides the sources, the result depends on which names exist, on who serves the
    # built-in names (their option schemas) and on who serves the selected name.
    key = (
        *memo.sources_key(explicit, config_file, environ, flags),
        fresh_run_id,
        given,
        len(entries),
        *map(entries.get, BUILTIN_BACKENDS),
    )

    def compute_with_server() -> tuple[RendezvousSettings, Any]:
        settings = compute()
        return settings, entries.get(settings.backend)

    settings, server = memo.get("settings", key, compute_with_server)
    if entries.get(settings.backend) is not server:
        settings, server = compute_with_server()
        memo.put("settings", key, (settings, server))
    return settings


def _settings(
    explicit: Mapping[str, Any] | None,
    config_file: str | os.PathLike[str] | None,
    environ: Mapping[str, str] | None,
    selector: Any,
    flags: Mapping[str, Any] | None,
    fresh_run_id: str | None,
    policy: PluginPolicy | None,
) -> RendezvousSettings:
    layers = container_layers(explicit, config_file, environ, flags)
    policy = policy or resolve_policy(layers)
    settings = resolve_settings(
        layers,
        schemas=backend_schemas(selector, policy),
        fresh_run_id=fresh_run_id,
        policy=policy,
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
    import uuid

    return uuid.uuid4().hex


def build_parameters(
    settings: RendezvousSettings, selector: Any, memo: ResolutionMemo | None = None
) -> RendezvousParameters:
    """Torch's ``RendezvousParameters`` for ``settings``, options converted and complete.

    A new parameters object every time (a handler may keep it); the validated
    options are reused while the settings and the serving provider are the same.
    """
    from ._torch import rendezvous_module

    schema = schema_for(selector, settings.backend, settings.plugins)

    def options() -> dict[str, Any]:
        return complete_options(settings, schema)

    conf = options() if memo is None else memo.get("options", (settings, schema), options)
    return _parameters(rendezvous_module().RendezvousParameters, settings, conf)


def _parameters(cls: Any, given: Any, conf: Mapping[str, Any]) -> RendezvousParameters:
    """``cls(...)`` with ``given``'s fields (settings or parameters) and the options ``conf``."""
    params: RendezvousParameters = cls(
        backend=given.backend,
        endpoint=given.endpoint,
        run_id=given.run_id,
        min_nodes=given.min_nodes,
        max_nodes=given.max_nodes,
        local_addr=given.local_addr,
        **conf,
    )
    return params


def complete_options(settings: RendezvousSettings, schema: OptionSchema | None) -> dict[str, Any]:
    """The backend options with required ones present, TLS files read and static's rank in range."""
    if schema is None:
        return dict(settings.conf)
    conf = schema.validate(settings.conf, require=True, check_files=True, sources=settings.sources)
    _check_rank(settings.backend, conf, settings.max_nodes, settings.source_of("conf.rank"))
    return conf


def _check_rank(backend: str, conf: Mapping[str, Any], max_nodes: int, source: str | None) -> None:
    """static's world is exactly max_nodes: a rank past it waits for a node that never comes."""
    rank = conf.get("rank")
    if backend == "static" and rank is not None and rank >= max_nodes:
        raise ConfigError(
            "conf.rank", rank, f"must be below max_nodes ({max_nodes})", source=source
        )


def schema_for(selector: Any, name: str, policy: PolicySource) -> OptionSchema | None:
    """The option schema that applies to ``name``: the built-in's, while the built-in serves it.

    A policy provider is asked only for a built-in name that a plugin also claims.
    """
    builtin = BUILTIN_BACKENDS.get(name)
    if builtin is None or not builtin_serves(name, selector.providers.get(name), policy):
        return None
    return builtin.schema


def normalize_parameters(
    params: RendezvousParameters, selector: Any, policy: PolicySource = None
) -> RendezvousParameters:
    """Validate and convert parameters someone else built (torch's launcher, a test).

    torchrun passes every option as a string and adds ``timeout`` (and ``rank``
    for static); the schema accepts those and converts the rest, exactly as for
    parameters the container builds itself.
    """
    schema = schema_for(selector, params.backend, policy)
    if schema is None:
        return params
    conf = schema.validate(params.config, require=True, check_files=True)
    _check_rank(params.backend, conf, params.max_nodes, "torch's parameters")
    return _parameters(type(params), params, conf)


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
