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

from ..errors import ConfigError
from ..text import did_you_mean, quote
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
    "scheduler",
    "admission",
)
"""Every key a source may set (``nnodes`` and ``standalone`` expand into others;
``node_rank``, ``master_addr`` and ``master_port`` shape the static rendezvous;
``scheduler`` chooses which scheduler's values sit under the file; ``admission``
selects the admission checks, the highest source's value as a whole)."""

STANDALONE = (("backend", "c10d"), ("endpoint", "localhost:0"), ("run_id", FRESH_RUN_ID))
"""torchrun's ``--standalone``: its own rendezvous values win over any given ones."""


@dataclass
class Layer:
    """The values one source sets, with a source label per value (``conf.x`` per option)."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def set(self, key: str, value: Any, source: str) -> None:
        """Set ``key`` from ``source``, expanding the keys that stand for several values."""
        check_text(key, value, source)
        if key == "conf":
            conf = parse_conf(value, source) if isinstance(value, str) else value
            if not isinstance(conf, Mapping):
                raise ConfigError(
                    "conf", value, "expected a mapping of backend options", source=source
                )
            for name, item in conf.items():
                text_key("conf", name, source, "option names")
                check_text(f"conf.{name}", item, source)
            self.values.setdefault("conf", {}).update(conf)
            self.sources.update({f"conf.{k}": source for k in conf})
        elif key == "plugins":
            if not isinstance(value, Mapping):
                raise ConfigError(
                    "plugins", value, "expected a mapping", choices=PLUGIN_KEYS, source=source
                )
            for name, item in value.items():
                text_key("plugins", name, source, "plugins settings", PLUGIN_KEYS)
                check_key(f"plugins.{name}", name, PLUGIN_KEYS, source)
                check_text(f"plugins.{name}", item, source)
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


def text_key(
    field_name: str,
    key: object,
    source: str,
    what: str = "setting names",
    valid: tuple[str, ...] = (),
) -> str:
    """``key`` if it is text; a YAML ``1:``, ``~:`` or ``? [a]`` key names ``field_name``."""
    if not isinstance(key, str):
        raise ConfigError(
            field_name,
            key,
            f"the key {quote(key)} is {type(key).__name__}, not text: {what} are text",
            choices=valid,
            hint="quote it in YAML",
            source=source,
        )
    check_text(field_name, key, source)
    return key


def check_text(field_name: str, value: object, source: str) -> None:
    """Refuse text that is not valid Unicode (bytes that were not UTF-8, kept as surrogates),
    or that holds a NUL character (YAML's ``"\\0"`` escape writes one).

    ``os.environ`` and ``sys.argv`` hand undecodable bytes over as lone surrogates
    (``\\udcff``); torch would fail on them far away, printing them fails too.
    """
    texts = [value] if isinstance(value, str) else []
    if isinstance(value, list | tuple):
        texts = [item for item in value[:100] if isinstance(item, str)]
    for text in texts:
        if "\x00" in text:
            raise ConfigError(
                field_name,
                text,
                f"{quote(text)} holds a NUL character (position {text.index(chr(0))}), which "
                "no environment variable, command line or C string can carry",
                source=source,
            )
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            bad = text[error.start]
            byte = f"byte 0x{ord(bad) - 0xDC00:02x}" if 0xDC80 <= ord(bad) <= 0xDCFF else "text"
            raise ConfigError(
                field_name,
                text,
                f"{quote(text)} is not valid UTF-8 ({byte} at position {error.start})",
                source=source,
            ) from None


def check_key(field_name: str, key: str, valid: tuple[str, ...], source: str) -> None:
    """Refuse a key that is not in ``valid``, naming the nearest valid one."""
    if key not in valid:
        raise ConfigError(
            field_name,
            key,
            f"unknown setting {key!r}",
            choices=valid,
            hint=did_you_mean(key, valid),
            source=source,
        )


class Unresolved:
    """A value a source knows it cannot work out: an error only if it is the value used.

    A heterogeneous Slurm job has no single node list: the detected endpoint is
    unknown, yet a ``--rdzv-endpoint`` given above makes that harmless. The
    source sets this in place of the value; `raise_unresolved` raises its
    error when it survives the merge.
    """

    def __init__(self, error: ConfigError) -> None:
        self.error = error

    def __eq__(self, other: object) -> bool:  # layers are compared by the resolution cache
        return isinstance(other, Unresolved) and str(other.error) == str(self.error)

    def __hash__(self) -> int:
        return hash(str(self.error))

    def __repr__(self) -> str:
        return f"Unresolved({str(self.error)!r})"


def raise_unresolved(values: Mapping[str, Any]) -> None:
    """Raise the error of the first `Unresolved` value that won the merge."""
    for value in values.values():
        if isinstance(value, Unresolved):
            raise value.error


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
