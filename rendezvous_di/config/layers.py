"""A `Layer` is what one source says: values, already expanded, each with its source.

``nnodes`` becomes ``min_nodes``/``max_nodes``, ``standalone`` becomes a c10d
endpoint with a fresh run id, torchrun's ``k=v,k=v`` becomes a mapping; each
value keeps a label saying where it came from (``conf.x`` per option).
`merge` stacks layers, later ones winning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, nearest
from .policy import PLUGIN_KEYS
from .torchrun import MASTER_KEYS, parse_conf, parse_nnodes
from .values import FRESH_RUN_ID, parse_bool

KEYS = (
    "backend",
    "endpoint",
    "run_id",
    "min_nodes",
    "max_nodes",
    "nnodes",
    "local_addr",
    "conf",
    "plugins",
    "standalone",
    *MASTER_KEYS,
)
"""Every key a source may set (``nnodes`` and ``standalone`` expand into others;
``node_rank``, ``master_addr`` and ``master_port`` shape the static rendezvous)."""

STANDALONE = (("backend", "c10d"), ("endpoint", "localhost:0"), ("run_id", FRESH_RUN_ID))
"""torchrun's ``--standalone``: its own rendezvous values win over any given ones."""


@dataclass
class Layer:
    """The values one source sets, with a source label per value (``conf.x`` per option)."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def set(self, key: str, value: Any, source: str) -> None:
        """Set ``key`` from ``source``, expanding the keys that stand for several values."""
        if key == "conf":
            conf = parse_conf(value, source) if isinstance(value, str) else value
            if not isinstance(conf, Mapping):
                raise ConfigError(
                    "conf", value, "expected a mapping of backend options", source=source
                )
            self.values.setdefault("conf", {}).update(conf)
            self.sources.update({f"conf.{k}": source for k in conf})
        elif key == "plugins":
            if not isinstance(value, Mapping):
                raise ConfigError(
                    "plugins", value, "expected a mapping", choices=PLUGIN_KEYS, source=source
                )
            for name, item in value.items():
                check_key(f"plugins.{name}", str(name), PLUGIN_KEYS, source)
                self.values.setdefault("plugins", {})[name] = item
                self.sources[f"plugins.{name}"] = source
        elif key == "nnodes":
            self.values["min_nodes"], self.values["max_nodes"] = parse_nnodes(value, source)
            self.sources["min_nodes"] = self.sources["max_nodes"] = source
        elif key == "standalone":
            if parse_bool(value, "standalone", source):
                for name, item in STANDALONE:
                    self.values[name] = item
                    self.sources[name] = source
        else:
            self.values[key] = value
            self.sources[key] = source


def check_key(field_name: str, key: str, valid: tuple[str, ...], source: str) -> None:
    """Refuse a key that is not in ``valid``, naming the nearest valid one."""
    if key not in valid:
        guess = nearest(key, valid)
        raise ConfigError(
            field_name,
            key,
            f"unknown setting {key!r}",
            choices=valid,
            hint=f"did you mean {guess!r}?" if guess else None,
            source=source,
        )


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
