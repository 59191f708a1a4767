"""Effective rendezvous settings: one typed model, merged from every source with provenance.

Sources, lowest first: defaults < config file < PET_* environment < explicit
values and flags. Validation happens here, before torch is imported, so a
bad value fails in milliseconds with the field's name, the value's source
and the valid choices, instead of minutes later inside a worker.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from .backends import BUILTIN_BACKENDS
from .endpoint import parse_endpoint
from .errors import ConfigError, UnknownBackendError
from .options import OptionSchema
from .policy import PluginPolicy
from .sources import FRESH_RUN_ID, Layer

__all__ = ["PluginPolicy", "RendezvousSettings", "resolve_policy", "resolve_settings"]

DEFAULT_BACKEND = "c10d"


class RendezvousSettings(BaseModel):
    """The effective settings of one node's rendezvous.

    ``conf`` holds the backend options converted to the types torch reads.
    ``source_of(key)`` tells where a value came from.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)

    backend: str = Field(min_length=1)
    endpoint: str
    run_id: str = Field(min_length=1)
    min_nodes: int = Field(ge=1)
    max_nodes: int = Field(ge=1)
    local_addr: str | None = None
    conf: dict[str, Any] = Field(default_factory=dict)
    plugins: PluginPolicy = PluginPolicy()
    _sources: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("min_nodes", "max_nodes", mode="before")
    @classmethod
    def _no_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("expected a whole number, got a boolean")
        return value

    @property
    def sources(self) -> dict[str, str]:
        """Source label of every value: ``default``, ``file F``, ``env PET_X``, ``flag --x``..."""
        return dict(self._sources)

    def source_of(self, key: str) -> str:
        return self._sources.get(key, "default")

    def as_torchrun_conf(self) -> str:
        """The backend options in torchrun's ``--rdzv-conf`` syntax."""
        return ",".join(f"{k}={_conf_text(v)}" for k, v in self.conf.items())


def _conf_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def merge(layers: Iterable[Layer]) -> Layer:
    """Merge layers, later ones winning; ``conf`` and ``plugins`` merge key by key."""
    merged = Layer()
    for layer in layers:
        for key, value in layer.values.items():
            if key in ("conf", "plugins"):
                merged.values.setdefault(key, {}).update(value)
            else:
                merged.values[key] = value
        merged.sources.update(layer.sources)
    return merged


def resolve_policy(layers: Iterable[Layer]) -> PluginPolicy:
    """Only the ``plugins`` block of ``layers``, validated.

    Listing backends needs the policy even when the rest of the settings is
    invalid (an unknown ``backend`` is exactly when someone lists them).
    """
    merged = merge(layers)
    return PluginPolicy.from_mapping(merged.values.get("plugins", {}), merged.sources)


def resolve_settings(
    layers: Iterable[Layer],
    *,
    schemas: Mapping[str, OptionSchema | None] | None = None,
    fresh_run_id: str | None = None,
) -> RendezvousSettings:
    """Merge ``layers`` over the defaults and validate the result.

    Args:
        layers: lowest precedence first.
        schemas: every selectable backend name, with its option schema when
            it has one (plugins usually do not). Defaults to the built-ins.
        fresh_run_id: the id used where a fresh one is called for (one node, or
            ``standalone``); pass the same one to resolve the same run twice.

    Raises:
        ConfigError: naming the field, the value's source and the valid choices.
    """
    merged = merge(layers)
    values, sources = dict(merged.values), merged.sources
    available = {n: b.schema for n, b in BUILTIN_BACKENDS.items()} if schemas is None else schemas

    values["plugins"] = PluginPolicy.from_mapping(values.get("plugins", {}), sources)
    backend = str(values.setdefault("backend", DEFAULT_BACKEND))
    if backend not in available:
        raise UnknownBackendError(backend, available, source=sources.get("backend"))
    schema = available[backend]
    if schema is not None:
        values["conf"] = schema.validate(
            values.get("conf", {}), require=False, check_files=False, sources=sources
        )
    builtin = BUILTIN_BACKENDS.get(backend)
    if "endpoint" not in values:
        values["endpoint"] = builtin.default_endpoint if builtin else ""
    values.setdefault("min_nodes", 1)
    values.setdefault("max_nodes", values["min_nodes"])
    if "run_id" not in values:
        # One node has nothing to agree on: a fresh id keeps runs apart. Several nodes
        # must share one id, so keep torchrun's default rather than a per-node random one.
        values["run_id"] = FRESH_RUN_ID if values["max_nodes"] == 1 else "none"
    if values["run_id"] == FRESH_RUN_ID:
        values["run_id"] = fresh_run_id or uuid.uuid4().hex

    try:
        settings = RendezvousSettings.model_validate(values)
    except ValidationError as error:
        raise _config_error(error, values, sources) from None
    if settings.max_nodes < settings.min_nodes:
        raise ConfigError(
            "max_nodes",
            settings.max_nodes,
            f"must be >= min_nodes ({settings.min_nodes})",
            source=sources.get("max_nodes"),
        )
    _check_endpoint(settings, sources.get("endpoint"))
    settings._sources = dict(sources)
    return settings


def _check_endpoint(settings: RendezvousSettings, source: str | None) -> None:
    builtin = BUILTIN_BACKENDS.get(settings.backend)
    if builtin is None or (builtin.name == "c10d" and settings.conf.get("store_type") == "file"):
        return  # a plugin's endpoint grammar is its own; c10d's file store takes a path
    try:
        endpoint = parse_endpoint(settings.endpoint)
    except ConfigError as error:
        raise error.with_source(source) from None
    if builtin.default_port is None and endpoint.port is None:
        raise ConfigError(
            "endpoint",
            settings.endpoint,
            f"backend {settings.backend!r} needs an explicit port, <host>:<port>",
            source=source,
        )


def _config_error(
    error: ValidationError,
    values: Mapping[str, Any],
    sources: Mapping[str, str],
) -> ConfigError:
    first = error.errors()[0]
    loc = tuple(str(p) for p in first["loc"])
    field = ".".join(loc)
    top = loc[0] if loc else field
    source = sources.get(field) or sources.get(".".join(loc[:2])) or sources.get(top)
    value = first.get("input", values.get(top))
    return ConfigError(field, value, f"{value!r}: {first['msg'].lower()}", source=source)
