"""Effective rendezvous settings: one typed model, merged from every source with provenance.

Sources, lowest first: defaults < detected scheduler (Slurm, Kubeflow) < config file < PET_*
environment < explicit values and flags. With no backend given, torchrun's own defaults apply where
torchrun has one (``static`` at ``--master-addr:--master-port`` for several
nodes, see `rendezvous_di.config.master`). Validation happens here,
before torch is imported, so a bad value fails in milliseconds with the
field's name, the value's source and the valid choices, instead of minutes later inside a worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from ..errors import ConfigError, UnknownBackendError
from ..text import quote
from .endpoint import parse_address
from .layers import Layer, merge, raise_unresolved
from .master import (
    DEFAULT_BACKEND,
    STATIC,
    default_backend,
    default_backend_source,
    master_endpoint,
    pop_master_values,
    refuse_port_zero,
)
from .policy import PluginPolicy
from .torchrun import MAX_DIGITS
from .values import FRESH_RUN_ID, is_fresh_placeholder, parse_number
from .values import fresh_run_id as make_run_id

__all__ = [
    "DEFAULT_BACKEND",
    "PluginPolicy",
    "RendezvousSettings",
    "resolve_policy",
    "resolve_settings",
]

OVERRIDDEN_POLICY = "override of plugin_policy"
"""Source label of the ``plugins`` values when the container's policy provider is overridden."""


@dataclass(frozen=True)
class RendezvousSettings:
    """The effective settings of one node's rendezvous, validated.

    ``conf`` holds the backend options converted to the types torch reads.
    ``source_of(key)`` tells where a value came from. Build it with
    `resolve_settings`, which validates every field and names the
    offending one; the class itself trusts its arguments.

    A plain dataclass, not a pydantic model: every ``rendezvous-di run`` agent
    validates settings once, and pydantic's model machinery would add more to
    its start than all of this package does.
    """

    backend: str
    endpoint: str
    run_id: str
    min_nodes: int = 1
    max_nodes: int = 1
    local_addr: str | None = None
    conf: dict[str, Any] = field(default_factory=dict)
    plugins: PluginPolicy = field(default_factory=PluginPolicy)
    scheduler: str = "none"
    """The scheduler whose values sit under the file (`rendezvous_di.config.schedulers`)."""
    admission: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The admission checks selected, in order: name -> options as given (validated against
    the container's checks by `rendezvous_di.admission.entries.selected_checks`)."""
    _sources: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def sources(self) -> dict[str, str]:
        """Source label of every value: ``default``, ``file F``, ``env PET_X``, ``flag --x``..."""
        return dict(self._sources)

    def source_of(self, key: str) -> str:
        return self._sources.get(key, "default")

    def with_sources(self, sources: Mapping[str, str]) -> RendezvousSettings:
        """These settings with each value's source recorded (once, by whoever validated them)."""
        object.__setattr__(self, "_sources", dict(sources))  # frozen: provenance is set once
        return self

    def to_dict(self) -> dict[str, Any]:
        """The values as plain JSON-ready data (``rendezvous-di config --json``)."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        data["conf"] = dict(self.conf)
        data["plugins"] = {
            f.name: _plain(getattr(self.plugins, f.name)) for f in fields(PluginPolicy)
        }
        return data

    def as_torchrun_conf(self) -> str:
        """The backend options in torchrun's ``--rdzv-conf`` syntax."""
        return ",".join(f"{k}={_conf_text(v)}" for k, v in self.conf.items())


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _conf_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class BackendRules(Protocol):
    """What settings resolution needs to know of the selected backend (its description)."""

    @property
    def default_endpoint(self) -> str: ...

    @property
    def meets_at_master(self) -> bool: ...

    def convert_options(
        self, conf: Mapping[str, Any], sources: Mapping[str, str] | None = None
    ) -> dict[str, Any]: ...

    def check(self, settings: RendezvousSettings) -> None: ...


class Backends(Protocol):
    """The backends one may select, by name (`rendezvous_di.registry.catalog.Catalog`).

    Settings resolution takes them as an argument: ``config/`` knows what a
    backend must answer, not where backends come from.
    """

    def __contains__(self, name: object) -> bool: ...

    def names(self) -> list[str]: ...

    def describe(
        self, name: str, policy: PluginPolicy, sources: Mapping[str, str] | None = None
    ) -> BackendRules: ...


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
    catalog: Backends,
    fresh_run_id: str | None = None,
    policy: PluginPolicy | None = None,
) -> RendezvousSettings:
    """Merge ``layers`` over the defaults and validate the result.

    Args:
        layers: lowest precedence first.
        catalog: the selectable backends and their descriptions: a container's
            (`rendezvous_di.registry.catalog.Catalog`), or torch's built-ins alone
            (`rendezvous_di.registry.catalog.builtin_catalog`).
        fresh_run_id: the id used where a fresh one is called for (one node, or
            ``standalone``); pass the same one to resolve the same run twice.
        policy: the plugins policy when something other than the layers decides
            it (an override of the container's ``plugin_policy``).

    Raises:
        ConfigError: naming the field, the value's source and the valid choices.
    """
    merged = merge(layers)
    values, sources = dict(merged.values), merged.sources
    raise_unresolved(values)

    values["plugins"] = PluginPolicy.from_mapping(values.get("plugins", {}), sources)
    if policy is not None and policy != values["plugins"]:
        values["plugins"] = policy
        sources = {k: v for k, v in sources.items() if not k.startswith("plugins.")}
        sources.update((f"plugins.{f.name}", OVERRIDDEN_POLICY) for f in fields(policy))
    master = pop_master_values(values, sources)
    if values.get("admission") is not None:  # the parser is imported only for a job that uses it
        from .admission import parse as parse_admission

        values["admission"] = parse_admission(values["admission"], sources.get("admission"))
    for key in values:
        if key not in FIELDS:
            raise ConfigError(key, values[key], "is not a setting", choices=FIELDS)
    try:
        values["min_nodes"] = _whole_number(values.get("min_nodes", 1), "min_nodes", sources)
        values["max_nodes"] = _whole_number(
            values.get("max_nodes", values["min_nodes"]), "max_nodes", sources
        )
    except ConfigError as error:
        raise _as_nnodes(error, values, sources) from None
    if "backend" not in values:
        values["backend"] = default_backend(values["max_nodes"], master)
        if values["backend"] == STATIC:  # torchrun's own default, where it has one
            sources["backend"] = default_backend_source(values["max_nodes"], sources)
    backend = _text(values["backend"], "backend", sources)
    if backend not in catalog:
        raise UnknownBackendError(backend, catalog.names(), source=sources.get("backend"))
    description = catalog.describe(backend, values["plugins"], sources)
    conf = values.get("conf", {})
    if not isinstance(conf, Mapping):
        raise ConfigError(
            "conf", conf, f"{quote(conf)} is not a mapping of options", source=sources.get("conf")
        )
    if description.meets_at_master and "node_rank" in master:
        conf = {**conf, "rank": master["node_rank"]}  # torchrun: --node-rank is static's rank
        sources["conf.rank"] = sources.get("node_rank", "default")
    values["conf"] = description.convert_options(conf, sources)
    if "endpoint" not in values:
        if description.meets_at_master:
            values["endpoint"], sources["endpoint"] = master_endpoint(master, sources)
        else:
            values["endpoint"] = description.default_endpoint
    if isinstance(values["endpoint"], str):
        nodes = values["min_nodes"], values["max_nodes"]
        refuse_port_zero(values["endpoint"], backend, nodes, sources)
    if "run_id" not in values:
        # One node has nothing to agree on: a fresh id keeps runs apart. Several nodes
        # must share one id, so keep torchrun's default rather than a per-node random one.
        values["run_id"] = FRESH_RUN_ID if values["max_nodes"] == 1 else "none"
    if is_fresh_placeholder(values["run_id"]):
        values["run_id"] = fresh_run_id or make_run_id()

    for key in ("endpoint", "run_id"):
        values[key] = _text(values[key], key, sources, empty_ok=key == "endpoint")
    if values.get("local_addr") is not None:
        address = _text(values["local_addr"], "local_addr", sources)
        try:
            values["local_addr"] = parse_address(address)
        except ConfigError as error:
            raise error.with_source(sources.get("local_addr")) from None

    settings = RendezvousSettings(**values)
    if settings.max_nodes < settings.min_nodes:
        raise _range_error(settings.min_nodes, settings.max_nodes, sources)
    settings.with_sources(sources)
    description.check(settings)
    return settings


def _as_nnodes(
    error: ConfigError, values: Mapping[str, Any], sources: Mapping[str, str]
) -> ConfigError:
    """``error`` about one end of a node range, said of the ``nnodes`` value that set both.

    ``--nnodes 0:2`` is what the user wrote: "min_nodes 0" would name a setting they
    never typed. Ends set apart (``min_nodes:`` in a file) keep their own names.
    """
    source = _nnodes_source(sources)
    number = values.get(error.field)
    if source is None or not isinstance(number, int):
        return error
    low, high = values.get("min_nodes"), values.get("max_nodes")
    problem = error.problem.removeprefix(f"{number} ")
    if low == high:
        return ConfigError("nnodes", str(low), f"'{low}': {problem}", source=source)
    end = "minimum" if error.field == "min_nodes" else "maximum"
    written = f"{low}:{high}"
    return ConfigError(
        "nnodes", written, f"'{written}': its {end}, {number}, {problem}", source=source
    )


def _nnodes_source(sources: Mapping[str, str]) -> str | None:
    """Where ``--nnodes``/``PET_NNODES`` set both ends of the range; None if they did not."""
    source = sources.get("max_nodes")
    if source is None or source != sources.get("min_nodes"):
        return None
    return source if source.endswith(("--nnodes", "PET_NNODES")) else None


def _range_error(low: int, high: int, sources: Mapping[str, str]) -> ConfigError:
    """A node range whose maximum is below its minimum, said with the value as written.

    ``--nnodes 2:1`` (or ``PET_NNODES=2:1``) sets both ends: the error names that one
    value, not a ``max_nodes`` the user never wrote.
    """
    source = _nnodes_source(sources)
    if source is not None:
        return ConfigError(
            "nnodes",
            f"{low}:{high}",
            f"'{low}:{high}': the maximum, {high}, is below the minimum, {low}",
            hint=f"write MIN:MAX with MIN <= MAX, such as {high}:{low}",
            source=source,
        )
    low_source = sources.get("min_nodes", "default")
    elsewhere = f", from {low_source}" if low_source != sources.get("max_nodes") else ""
    return ConfigError(
        "max_nodes",
        high,
        f"{high} must be >= min_nodes ({low}{elsewhere})",
        source=sources.get("max_nodes"),
    )


FIELDS = tuple(f.name for f in fields(RendezvousSettings) if f.init)


def _text(value: Any, key: str, sources: Mapping[str, str], *, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        problem = f"{quote(value)} is not text ({type(value).__name__}); quote it in YAML"
        raise ConfigError(key, value, problem, source=sources.get(key))
    if not value and not empty_ok:
        raise ConfigError(key, value, "must have at least 1 character", source=sources.get(key))
    return value


def _whole_number(value: Any, key: str, sources: Mapping[str, str]) -> int:
    """An int >= 1 from an int or digits as text (PET_* values are text); never a float."""
    source = sources.get(key)
    digits = value.strip().lstrip("+-") if isinstance(value, str) else ""
    if digits.isdigit() and len(digits) > MAX_DIGITS:
        raise ConfigError(
            key, value, f"{quote(value)} has more than {MAX_DIGITS} digits", source=source
        )
    number = parse_number(value, key, integer=True, source=source)
    assert isinstance(number, int)
    if number < 1:
        raise ConfigError(key, value, f"{number} must be >= 1", source=source)
    if number >= 10**MAX_DIGITS:
        raise ConfigError(
            key, value, f"{quote(value)} has more than {MAX_DIGITS} digits", source=source
        )
    return number
