"""The container's checks: built-in entries, `add_check`, installed plugins, the selection.

``RendezvousContainer.checks`` is a ``providers.Dict`` keyed by check name;
each entry provides an `AdmissionCheck` (or a plain callable with
``admission_*`` attributes). ``RendezvousContainer.admission`` gives the
checks the ``admission`` setting selects, in order, options converted.
A platform adds, replaces or removes entries per container (`add_check`,
`remove_check`), overrides one (``container.checks.kwargs[name].override``)
or overrides ``admission`` as a whole.

Plugins of the ``rendezvous_di.checks`` entry point group are found when a
job selects a name no entry has, or when checks are listed; a check the
container holds wins over an installed plugin of the same name. Building
the entries imports nothing: a job that selects no check pays nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dependency_injector import providers

from ..errors import ConfigError
from ..text import did_you_mean, quote
from . import GROUP

__all__ = ["GROUP", "add_check", "available", "remove_check", "selected_checks"]

BUILTIN_TARGETS = {
    "network": "rendezvous_di.admission.builtin.network:check",
    "disk": "rendezvous_di.admission.builtin.disk:check",
    "gpu": "rendezvous_di.admission.builtin.gpu:check",
}
"""The built-in checks, in listing order, by the ``module:attr`` that runs each."""

_CLASS_DICTS: list[providers.Provider[Any]] = []


def shared_by_every_instance(checks: providers.Dict) -> providers.Dict:
    """Mark a class-level ``checks`` Dict: `add_check` refuses to change it for every instance."""
    _CLASS_DICTS.append(checks)
    return checks


def builtin_check(name: str) -> Any:
    """The built-in check ``name`` (imports its module, which imports nothing heavy)."""
    from .check import from_callable
    from .loading import load_target

    target = BUILTIN_TARGETS[name]
    # A group check runs in the agent (it needs the round's store): no child target.
    check = from_callable(name, load_target(target), origin="built-in", target=target)
    return check if check.kind == "node" else _without_target(check)


def _without_target(check: Any) -> Any:
    from dataclasses import replace

    return replace(check, target=None)


def builtin_entries() -> dict[str, providers.Provider[Any]]:
    return {name: providers.Callable(builtin_check, name) for name in BUILTIN_TARGETS}


def add_check(
    container: Any, name: str, provider: providers.Provider[Any], *, replace: bool = False
) -> None:
    """Offer ``provider`` as admission check ``name`` in ``container.checks``.

    Args:
        container: a ``RendezvousContainer`` instance, a ``providers.Container``
            nesting one, or a class made with ``@containers.copy(RendezvousContainer)``.
        name: the check's name (``--admission NAME`` selects it).
        provider: provides an `AdmissionCheck` or a callable
            ``check(options, context)`` with optional ``admission_kind``,
            ``admission_options``, ``admission_timeout`` attributes.
        replace: allow replacing an existing entry (a built-in included).

    Raises:
        ConfigError: an invalid name, or one already offered without ``replace``.
        TypeError: ``provider`` is not a provider, or ``container`` is the
            shared ``RendezvousContainer`` class itself.
    """
    from .selection import parse

    if not isinstance(provider, providers.Provider):
        raise TypeError(
            f"check {name!r}: expected a provider (providers.Object(check), "
            f"providers.Factory(...)), got {quote(provider)}"
        )
    checks = container.checks
    if any(checks is shared for shared in _CLASS_DICTS):
        raise TypeError(
            "add_check would change the checks of every RendezvousContainer; add it to an "
            "instance, to a providers.Container(RendezvousContainer) in your container, "
            "or to a class decorated with @containers.copy(RendezvousContainer)"
        )
    parse(name if isinstance(name, str) else [name])  # the name's syntax, as a selection's
    current = dict(checks.kwargs)
    if name in current and not replace:
        kind = "a built-in check" if name in BUILTIN_TARGETS else "already a check"
        raise ConfigError(
            "admission",
            name,
            f"{name!r} is {kind} of this container",
            choices=sorted(current),
            hint="pick another name, or pass replace=True to replace it",
        )
    checks.add_kwargs(**{name: provider})


def remove_check(container: Any, name: str) -> None:
    """Remove check ``name`` from ``container.checks`` (a built-in included).

    Raises:
        ConfigError: no such check.
    """
    checks = container.checks
    current = dict(checks.kwargs)
    if name not in current:
        raise ConfigError(
            "admission", name, "is not a check of this container", choices=sorted(current)
        )
    del current[name]
    checks.set_kwargs(**current)


def _declared(checks: Any) -> Mapping[str, Any]:
    """The entries of ``checks``, or of the provider overriding it."""
    provider = checks
    while provider.overridden:
        provider = provider.last_overriding
    if isinstance(provider, providers.Dict):
        return dict(provider.kwargs)
    return {name: providers.Object(value) for name, value in dict(provider()).items()}


def available(checks: Any, *, plugins: bool = True) -> dict[str, Any]:
    """Every check name -> its provider: the container's entries, then installed plugins."""
    entries = dict(_declared(checks))
    if plugins:
        from .plugins import plugin_entries

        for name, entry in plugin_entries().items():
            entries.setdefault(name, entry)
    return entries


def resolve(name: str, provider: Any) -> Any:
    """The `AdmissionCheck` an entry provides.

    Raises:
        ConfigError: the entry's check is not valid (a plugin that fails to
            load, an invalid declaration): exit 2 with one ``error:`` line.
    """
    from ..backends.options import DeclarationError
    from .check import from_callable

    value = provider()
    try:
        return from_callable(name, value)
    except DeclarationError as error:
        raise ConfigError("admission", name, f"check {name!r} is not valid: {error}") from None


def selected_checks(
    selection: Mapping[str, Mapping[str, Any]], checks: Any, source: str | None = None
) -> tuple[Any, ...]:
    """The checks ``selection`` names, in its order, options converted (`Selected` each).

    Plugins are looked for only when a selected name is not an entry of
    ``checks``; nothing is loaded when the selection is empty.

    Raises:
        ConfigError: an unknown name (with the valid ones and a did-you-mean), a
            bad option, a check plugin that fails to load.
    """
    if not selection:
        return ()
    from .selection import Selected

    entries = dict(_declared(checks))
    if any(name not in entries for name in selection):
        entries = available(checks)
    chosen = []
    for name, raw in selection.items():
        if name not in entries:
            names = sorted(entries)
            raise ConfigError(
                "admission",
                name,
                f"unknown admission check {quote(name)}",
                choices=names,
                hint=did_you_mean(name, names) or "rendezvous-di checks lists them",
                source=source,
            )
        check = resolve(name, entries[name])
        chosen.append(Selected(check, check.convert_options(raw, source)))
    return tuple(chosen)
