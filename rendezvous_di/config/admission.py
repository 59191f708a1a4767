"""The ``admission`` setting's value: which checks a job runs, in order, with their options.

One value, from any source (flag ``--admission``, ``PET_ADMISSION``, the
YAML file), in one of these forms:

- text: ``network,disk`` (names, in order); an item ``disk.min_free_mb=512``
  sets an option (and selects the check); ``""`` selects none;
- a list of names, or of ``{name: {option: value}}`` mappings;
- a mapping ``{name: {option: value} | null}``.

`parse` turns any of them into ``{name: {option: raw value}}`` without
knowing which checks exist: settings are resolved without the container's
checks, which validate names and options later
(`rendezvous_di.admission.entries.selected_checks`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..text import quote

Selection = dict[str, dict[str, Any]]
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")
FIELD = "admission"


def parse(value: Any, source: str | None = None) -> Selection:
    """``value`` in any accepted form as ``{name: {option: raw value}}``, in order.

    Raises:
        ConfigError: naming ``admission`` (or ``admission.NAME``) and the value.
    """
    selection: Selection = {}
    if value is None:
        return selection
    if isinstance(value, str):
        for item in value.split(","):
            if item.strip():
                _add_item(selection, item.strip(), source)
        return selection
    if isinstance(value, Mapping):
        for name, options in value.items():
            _add(selection, _name(name, source), options, source)
        return selection
    if isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, str):
                _add_item(selection, item.strip(), source)
            elif isinstance(item, Mapping):
                for name, options in item.items():
                    _add(selection, _name(name, source), options, source)
            else:
                raise ConfigError(
                    FIELD, item, f"{quote(item)} is not a check name or a mapping", source=source
                )
        return selection
    raise ConfigError(
        FIELD,
        value,
        f"{quote(value)} is not a list of checks; give names (network,disk), a list or a mapping",
        source=source,
    )


def _add_item(selection: Selection, item: str, source: str | None) -> None:
    """``name`` or ``name.option=value``."""
    key, equals, raw = item.partition("=")
    if not equals:
        selection.setdefault(_name(item, source), {})
        return
    name, dot, option = key.strip().partition(".")
    if not dot or not option.strip():
        raise ConfigError(
            FIELD,
            item,
            f"{quote(item)} is neither a check name nor CHECK.OPTION=VALUE",
            hint="for example disk.min_free_mb=512",
            source=source,
        )
    selection.setdefault(_name(name, source), {})[option.strip()] = raw.strip()


def _add(selection: Selection, name: str, options: Any, source: str | None) -> None:
    if options is None or options is True:
        selection.setdefault(name, {})
        return
    if not isinstance(options, Mapping):
        raise ConfigError(
            f"{FIELD}.{name}",
            options,
            f"{quote(options)} is not a mapping of the check's options",
            source=source,
        )
    selection.setdefault(name, {}).update({str(k): v for k, v in options.items()})


def _name(name: Any, source: str | None) -> str:
    if not isinstance(name, str) or not _NAME.match(name.strip()):
        raise ConfigError(
            FIELD,
            name,
            f"{quote(name)} is not a check name (letters, digits, '-' and '_')",
            source=source,
        )
    return name.strip()


def as_text(selection: Mapping[str, Mapping[str, Any]]) -> str:
    """The selection in the flag's syntax: ``network,disk,disk.min_free_mb=512``."""
    items: list[str] = []
    for name, options in selection.items():
        items.append(name)
        items.extend(f"{name}.{key}={_text(value)}" for key, value in options.items())
    return ",".join(items)


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
