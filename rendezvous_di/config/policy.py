"""The ``plugins`` settings block: which out-of-tree backends may be used, and how.

A value, validated like every other setting; what it decides for each
backend name lives in `rendezvous_di.registry.claims`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..text import quote
from .values import parse_bool

PLUGIN_KEYS = ("autoload", "allow", "deny", "override_builtins")
DISABLE_AUTOLOAD_ENV = "RENDEZVOUS_DI_DISABLE_PLUGIN_AUTOLOAD"


@dataclass(frozen=True)
class PluginPolicy:
    """Which out-of-tree ``torchrun.handlers`` backends may be used, and how.

    Attributes:
        autoload: use installed plugins at all (off: only those in ``allow``).
        allow: only these backend or distribution names.
        deny: never these backend or distribution names.
        override_builtins: built-in names a plugin of the same name may replace.

    A plain dataclass rather than a pydantic model: listing backends needs the
    policy, and building pydantic models would cost more than the listing.
    """

    autoload: bool = True
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    override_builtins: tuple[str, ...] = ()

    @classmethod
    def from_mapping(
        cls, block: Mapping[str, Any], sources: Mapping[str, str] | None = None
    ) -> PluginPolicy:
        """Validate a ``plugins`` block: ``autoload`` a boolean, the rest names or "a,b" text.

        Raises:
            ConfigError: naming ``plugins.<key>``, the value and its source.
        """
        sources = sources or {}
        for key in block:
            if key not in PLUGIN_KEYS:
                raise ConfigError(
                    f"plugins.{key}",
                    block[key],
                    "is not a plugins setting",
                    choices=PLUGIN_KEYS,
                    source=sources.get(f"plugins.{key}"),
                )
        names = {
            key: _name_list(f"plugins.{key}", block[key], sources.get(f"plugins.{key}"))
            for key in ("allow", "deny", "override_builtins")
            if key in block
        }
        autoload = block.get("autoload", True)
        return cls(
            autoload=parse_bool(autoload, "plugins.autoload", sources.get("plugins.autoload")),
            **names,
        )


def _name_list(field: str, value: Any, source: str | None) -> tuple[str, ...]:
    """One name, "a,b" text or a list of names, as a tuple of non-empty names."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, Iterable) or isinstance(items, Mapping):
        raise ConfigError(
            field, value, f"{quote(value)} is not a name or a list of names", source=source
        )
    names = []
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(field, value, f"{quote(item)} is not a name", source=source)
        if item.strip():
            names.append(item.strip())
    return tuple(names)
