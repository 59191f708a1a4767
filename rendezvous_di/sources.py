"""Where settings come from: mappings, YAML files, the PET_* environment, torchrun flags.

Each source becomes a :class:`Layer`: the values it sets, already expanded
(``nnodes`` into ``min_nodes``/``max_nodes``, ``standalone`` into a c10d
endpoint), and for each value a label saying where it came from. Layers are
merged by :func:`rendezvous_di.settings.resolve_settings`, lowest first.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from .errors import ConfigError, ConfigFileError, nearest

FRESH_RUN_ID = "<fresh>"
"""Placeholder run id that ``--standalone`` sets; the resolver replaces it with a fresh id
that stays the same for the life of the container (or command) resolving it."""

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
)
PLUGIN_KEYS = ("autoload", "allow", "deny", "override_builtins")
DISABLE_AUTOLOAD_ENV = "RENDEZVOUS_DI_DISABLE_PLUGIN_AUTOLOAD"


class TorchrunOption(NamedTuple):
    """A setting torchrun takes as a flag and as a PET_* variable (the flag wins)."""

    key: str
    flag: str
    env: str
    help: str


TORCHRUN_OPTIONS = (
    TorchrunOption("backend", "--rdzv-backend", "PET_RDZV_BACKEND", "rendezvous backend name"),
    TorchrunOption(
        "endpoint", "--rdzv-endpoint", "PET_RDZV_ENDPOINT", "rendezvous endpoint, <host>[:<port>]"
    ),
    TorchrunOption("run_id", "--rdzv-id", "PET_RDZV_ID", "run id shared by every node of the job"),
    TorchrunOption(
        "conf", "--rdzv-conf", "PET_RDZV_CONF", "backend options, <key1>=<value1>,<key2>=<value2>"
    ),
    TorchrunOption("nnodes", "--nnodes", "PET_NNODES", "number of nodes, N or MIN:MAX"),
    TorchrunOption(
        "standalone",
        "--standalone",
        "PET_STANDALONE",
        "single node: c10d on localhost:0 with a fresh run id",
    ),
    TorchrunOption("local_addr", "--local-addr", "PET_LOCAL_ADDR", "address of this node"),
)


@dataclass
class Layer:
    """The values one source sets, with a source label per value (``conf.x`` per option)."""

    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def set(self, key: str, value: Any, source: str) -> None:
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
                _check_key(f"plugins.{name}", str(name), PLUGIN_KEYS, source)
                self.values.setdefault("plugins", {})[name] = item
                self.sources[f"plugins.{name}"] = source
        elif key == "nnodes":
            self.values["min_nodes"], self.values["max_nodes"] = parse_nnodes(value, source)
            self.sources["min_nodes"] = self.sources["max_nodes"] = source
        elif key == "standalone":
            if as_flag(value, "standalone", source):
                # torchrun's --standalone: its own rendezvous values win over any given ones.
                for name, item in (
                    ("backend", "c10d"),
                    ("endpoint", "localhost:0"),
                    ("run_id", FRESH_RUN_ID),
                ):
                    self.values[name] = item
                    self.sources[name] = source
        else:
            self.values[key] = value
            self.sources[key] = source


def _check_key(field_name: str, key: str, valid: tuple[str, ...], source: str) -> None:
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


def as_flag(value: Any, name: str, source: str | None) -> bool:
    """A boolean from a bool or the texts shells and YAML use; anything else names ``name``."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "t"):
        return True
    if text in ("", "0", "false", "no", "n", "f"):
        return False
    raise ConfigError(
        name,
        value,
        f"{value!r} is not a boolean",
        choices=("1", "0", "true", "false"),
        source=source,
    )


def parse_nnodes(value: Any, source: str | None = None) -> tuple[int, int]:
    """Parse ``N`` or ``MIN:MAX`` (torchrun's ``--nnodes``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    parts = str(value).strip().split(":")
    if len(parts) in (1, 2) and all(re.fullmatch(r"\d+", p.strip()) for p in parts):
        numbers = [int(p) for p in parts]
        return numbers[0], numbers[-1]
    raise ConfigError(
        "nnodes",
        value,
        f"{value!r} is not N or MIN:MAX with whole numbers",
        hint="for example 2 or 1:4",
        source=source,
    )


def parse_conf(text: str, source: str | None = None) -> dict[str, str]:
    """Parse torchrun's ``<key1>=<value1>,<key2>=<value2>`` backend options."""
    conf: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(
                "conf",
                text,
                f"{item!r} is not <key>=<value>",
                hint="use --rdzv-conf key1=value1,key2=value2",
                source=source,
            )
        conf[key.strip()] = value.strip()
    return conf


def from_mapping(mapping: Mapping[str, Any] | None, source: str = "explicit") -> Layer:
    """A layer from a mapping with the flat configuration keys (None values are unset)."""
    layer = Layer()
    if not mapping:
        return layer
    if not isinstance(mapping, Mapping):
        raise ConfigError(
            "configuration", mapping, "expected a mapping of settings", choices=KEYS, source=source
        )
    keys = [str(k) for k in mapping]
    if "nnodes" in keys and ({"min_nodes", "max_nodes"} & set(keys)):
        raise ConfigError(
            "nnodes",
            mapping["nnodes"],
            "give either nnodes or min_nodes/max_nodes, not both",
            source=source,
        )
    for key, value in mapping.items():
        _check_key(str(key), str(key), KEYS, source)
        if value is not None:
            layer.set(str(key), value, source)
    return layer


_ENV_REFERENCE = re.compile(r"\$\{(\w+)(?::([^}]*))?\}")


def from_yaml(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> Layer:
    """A layer from a YAML file; ``${VAR}`` and ``${VAR:default}`` are expanded first.

    The expansion follows dependency-injector's ``Configuration.from_yaml`` so
    one file works with both.
    """
    import yaml  # deferred: only file-based configuration pays for PyYAML

    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(name, "no such file") from None
    except OSError as error:
        raise ConfigFileError(name, error.strerror or str(error)) from None
    env = os.environ if environ is None else environ
    text = _ENV_REFERENCE.sub(lambda m: env.get(m.group(1), m.group(2) or ""), text)
    try:
        data = yaml.load(text, Loader=_loader())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigFileError(name, f"invalid YAML: {error.problem}", line=line) from None
    except yaml.YAMLError as error:
        raise ConfigFileError(name, f"invalid YAML: {error}") from None
    if data is None:
        return Layer()
    if not isinstance(data, Mapping):
        raise ConfigFileError(
            name, f"expected a mapping of settings at the top, got {type(data).__name__}"
        )
    return from_mapping(data, source=f"file {name}")


def _loader() -> type:
    """A SafeLoader that reads ``1:4`` as text, not as YAML 1.1's base-60 integer 64.

    ``nnodes: 1:4`` is how torchrun users write a node range; PyYAML's
    default resolver would silently turn it into 64 nodes.
    """
    import yaml

    class RendezvousLoader(yaml.SafeLoader):
        pass

    resolvers = {
        first: [
            (tag, regexp)
            for tag, regexp in entries
            if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
        ]
        for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    RendezvousLoader.yaml_implicit_resolvers = resolvers
    RendezvousLoader.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(r"^[-+]?(0|[1-9][0-9_]*|0x[0-9a-fA-F_]+|0o?[0-7_]+)$"),
        list("-+0123456789"),
    )
    RendezvousLoader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(
            r"^[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?$|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$"
        ),
        list("-+0123456789."),
    )
    return RendezvousLoader


def from_environ(environ: Mapping[str, str] | None = None) -> Layer:
    """A layer from the PET_* variables torchrun and Kubeflow's PyTorchJob use.

    An empty variable counts as unset, as operators often export blanks.
    """
    env = os.environ if environ is None else environ
    layer = Layer()
    for option in TORCHRUN_OPTIONS:
        value = env.get(option.env, "")
        if value.strip():
            layer.set(option.key, value.strip(), f"env {option.env}")
    disable = env.get(DISABLE_AUTOLOAD_ENV, "").strip()
    if disable and as_flag(disable, "plugins.autoload", f"env {DISABLE_AUTOLOAD_ENV}"):
        layer.set("plugins", {"autoload": False}, f"env {DISABLE_AUTOLOAD_ENV}")
    return layer


class FlagValue(NamedTuple):
    """A value derived from another flag than the key's own (static's ``--master-addr``)."""

    value: Any
    flag: str


def from_flags(flags: Mapping[str, Any]) -> Layer:
    """A layer from torchrun flags given by their settings key; None or False means not given."""
    by_key = {o.key: o.flag for o in TORCHRUN_OPTIONS}
    layer = Layer()
    for key, given in flags.items():
        value, flag = given if isinstance(given, FlagValue) else (given, by_key.get(key, key))
        if value is not None and value is not False:
            layer.set(key, value, f"flag {flag}")
    return layer
