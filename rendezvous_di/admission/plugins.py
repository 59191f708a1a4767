"""Checks from the ``rendezvous_di.checks`` entry point group: found, described, contained.

An entry point ``name = "module:attr"`` names a check callable (see
`rendezvous_di.admission.check`). Finding plugins reads metadata only;
describing one (its kind, options, summary) loads it in a child process,
once per process, so a plugin that raises, hangs or calls ``os._exit`` at
import is reported (selecting it: exit 2 naming the plugin and what
happened) and cannot end the agent or the listing. A plugin node check also
runs in a child; a plugin group check runs in the agent (it needs the
round's store), so only the import is contained for those.
"""

from __future__ import annotations

import threading
from typing import Any

from dependency_injector import providers

from ..errors import ConfigError
from ..plugins.entry_points import InstalledEntryPoint, entry_points
from . import GROUP
from .check import AdmissionCheck, check_schema

DESCRIBE_TIMEOUT = 30.0
"""Seconds a plugin's import and declaration may take in the child."""

_described: dict[tuple[str, str, str], AdmissionCheck | str] = {}
_lock = threading.Lock()


def plugin_entries() -> dict[str, providers.Provider[Any]]:
    """One entry per installed check plugin name (the first distribution of a name wins)."""
    found: dict[str, providers.Provider[Any]] = {}
    for entry_point in entry_points(GROUP):
        found.setdefault(entry_point.name, providers.Callable(plugin_check, entry_point))
    return found


def label(entry_point: InstalledEntryPoint) -> str:
    found = entry_point.name_and_version()
    dist = f" from distribution {found[0]!r} {found[1]}" if found else ""
    return f"check plugin {entry_point.name!r}{dist} (entry point {entry_point.value})"


def plugin_check(entry_point: InstalledEntryPoint) -> AdmissionCheck:
    """The plugin's check, described in a child process (once per process).

    Raises:
        ConfigError: the plugin cannot be loaded or declares an invalid check.
    """
    key = (entry_point.name, entry_point.value, entry_point.location or "")
    with _lock:
        known = _described.get(key)
        if known is None:
            known = _described[key] = _describe(entry_point)
    if isinstance(known, str):
        raise ConfigError(
            "admission",
            entry_point.name,
            f"{label(entry_point)} {known}",
            hint="fix or reinstall the plugin, or select another check",
        )
    return known


def _describe(entry_point: InstalledEntryPoint) -> AdmissionCheck | str:
    from ..backends.options import DeclarationError
    from .contained import describe_in_child

    answer = describe_in_child(entry_point.name, entry_point.value, DESCRIBE_TIMEOUT)
    if not answer.get("ok"):
        return str(answer.get("reason"))
    found = entry_point.name_and_version()
    kind = answer.get("kind", "node")
    try:
        schema = check_schema(entry_point.name, answer.get("options") or {})
    except DeclarationError as error:
        return f"declares an invalid check: {error}"
    function = None
    if kind == "group":  # runs in the agent: its import proved harmless in the child
        from .loading import load_target

        function = load_target(entry_point.value)
    return AdmissionCheck(
        name=entry_point.name,
        kind=kind,
        schema=schema,
        summary=str(answer.get("summary") or f"entry point {entry_point.value}"),
        origin="plugin",
        function=function,
        target=entry_point.value if kind == "node" else None,
        distribution=None if found is None else f"{found[0]} {found[1]}",
    )
