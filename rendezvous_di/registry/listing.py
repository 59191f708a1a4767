"""What the container offers: ``rendezvous-di backends``, one `BackendInfo` per claimant.

Listing never imports torch, a backend's dependencies or a plugin (unless
asked to ``load``): built-ins are described by their static spec, dependency
checks use ``find_spec``, plugins by their entry-point metadata and the state
of their process-wide loader.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from ..backends.builtin import BUILTIN_BACKENDS
from ..backends.description import BackendDescription
from ..backends.options import OptionSpec
from ..plugins.entry_points import installed_version
from ..plugins.loader import PluginLoader, load_all
from ..plugins.spec import PluginSpec, by_name, discover
from .catalog import fixed_description
from .claims import SHOWN_CLAIMANTS, ClaimedName

if TYPE_CHECKING:
    from ..config.policy import PluginPolicy


@dataclass(frozen=True)
class BackendInfo:
    """One selectable backend as ``rendezvous-di backends`` shows it.

    ``source`` is ``builtin`` (torch's own creator), ``plugin`` (a
    ``torchrun.handlers`` entry point), ``torch-registry`` (registered on
    torch's registry by other code) or ``container`` (a provider a platform
    declared in code). ``status``: built-ins are ``available``, ``missing
    dependency`` or ``shadowed`` (a plugin replaces them); plugins are ``not
    loaded``, ``loaded``, ``failed``, ``denied``, ``shadowed`` (the built-in,
    or a provider the container declares in code, serves the name) or
    ``conflict``; ``reason`` says why, or what to do.
    """

    name: str
    source: str
    status: str
    summary: str
    options: tuple[OptionSpec, ...] = ()
    reason: str | None = None
    distribution: str | None = None
    version: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}  # asdict would deep-copy
        data["options"] = [
            {
                "name": o.name,
                "type": o.type_name,
                "default": o.default,
                "help": o.help,
                "required": o.required,
                "set_by_launcher": o.launcher,
                "choices": [str(c) for c in o.choices],
            }
            for o in self.options
        ]
        return data


def describe_backends(container: Any, *, load: bool = False) -> list[BackendInfo]:
    """Every backend the container's Selector offers, sorted by name then source.

    A name claimed by a built-in and plugins gives one row per claimant.
    ``load`` imports every plugin the policy would use, so failures show up
    as ``failed`` with their reason, and declared options are listed;
    otherwise no plugin is imported (a loaded plugin's options are shown).
    """
    policy: PluginPolicy | None = None  # resolved at the first plugin: built-ins need none
    installed: dict[str, list[PluginSpec]] | None = None  # read at the first name declared in code
    infos: list[BackendInfo] = []
    entries = sorted(container.backends.providers.items())
    if load:
        _load_used_plugins(entries, container)
    for name, entry in entries:
        claim: ClaimedName | None = getattr(entry, "claim", None)
        if claim is not None:
            policy = policy or container.plugin_policy()
            infos.extend(_claim_infos(claim, policy))
            continue
        description = fixed_description(name, entry)
        builtin = description.origin == "builtin"
        infos.append(_builtin_info(description) if builtin else _info(description))
        if description.origin == "container":
            if installed is None:
                installed = by_name(discover())
            infos.extend(_declared_in_code_wins(name, installed.get(name, ())))
    return infos


def _info(
    description: BackendDescription, status: str = "available", reason: str | None = None
) -> BackendInfo:
    return BackendInfo(
        name=description.name,
        source=description.origin,
        status=status,
        summary=description.summary,
        options=() if description.schema is None else description.schema.options,
        reason=reason,
        distribution=description.distribution,
        version=_torch_version() if description.origin == "builtin" else description.version,
    )


def _declared_in_code_wins(name: str, specs: Iterable[PluginSpec]) -> list[BackendInfo]:
    """Installed plugins of a name the container declares in code: listed, never used.

    Without these rows a platform's ``mine`` would hide an installed ``mine``
    plugin silently, and nobody could tell why the plugin never runs.
    """
    return [
        BackendInfo(
            name=name,
            source="plugin",
            status="shadowed",
            summary=f"entry point {spec.value}",
            reason=f"the container declares {name!r} in code, which wins over installed plugins",
            distribution=spec.distribution,
            version=spec.version,
        )
        for spec in sorted(specs, key=lambda spec: spec.distribution)
    ]


@functools.lru_cache(maxsize=1)
def _torch_version() -> str | None:
    """torch's installed version, looked up once: it cannot change under a running process."""
    return installed_version("torch")


def _builtin_info(description: BackendDescription, shadowed_by: str | None = None) -> BackendInfo:
    missing = description.missing_dependency()
    if shadowed_by is not None:
        return _info(
            description, "shadowed", f"replaced by {shadowed_by} (plugins.override_builtins)"
        )
    if missing:
        reason = f"needs {missing[0]!r}: pip install 'rendezvous-di[{missing[1]}]'"
        return _info(description, "missing dependency", reason)
    return _info(description)


def _load_used_plugins(entries: Iterable[tuple[str, Any]], container: Any) -> None:
    """Load, all together, every plugin the policy would use (failures are recorded)."""
    claims = [claim for _, entry in entries if (claim := getattr(entry, "claim", None)) is not None]
    if not claims:
        return
    policy = container.plugin_policy()
    decisions = [claim.decide(policy) for claim in claims]
    load_all(d.loaders[0] for d in decisions if d.kind == "plugin")


def _claim_infos(claim: ClaimedName, policy: PluginPolicy) -> list[BackendInfo]:
    decision = claim.decide(policy)
    infos = []
    if claim.builtin:
        chosen = decision.loaders[0].spec.label if decision.kind == "plugin" else None
        infos.append(_builtin_info(BUILTIN_BACKENDS[claim.name], shadowed_by=chosen))
    loaders = sorted(claim.loaders, key=lambda lo: lo.spec.distribution)
    for loader in loaders[:SHOWN_CLAIMANTS]:
        status, reason = claim.status(loader, policy)
        infos.append(
            BackendInfo(
                name=claim.name,
                source="plugin",
                status=status,
                summary=f"entry point {loader.spec.value}",
                options=loader.known_options(),
                reason=reason,
                distribution=loader.spec.distribution,
                version=loader.spec.version,
            )
        )
    if len(loaders) > SHOWN_CLAIMANTS:
        infos.append(_more_claimants(claim, loaders[SHOWN_CLAIMANTS:], policy))
    return infos


def _more_claimants(
    claim: ClaimedName, rest: list[PluginLoader], policy: PluginPolicy
) -> BackendInfo:
    """One row for the claimants past the first few: a listing stays a few lines per name."""
    statuses = sorted({claim.status(loader, policy)[0] for loader in rest})
    return BackendInfo(
        name=claim.name,
        source="plugin",
        status="/".join(statuses),
        summary=f"and {len(rest)} more distributions declare {claim.name!r}",
        reason=f"and {len(rest)} more distributions declare {claim.name!r}; "
        "see them with: pip list, or importlib.metadata.entry_points(group='torchrun.handlers')",
    )
