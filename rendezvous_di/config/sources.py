"""Where settings come from: one function per source, each returning a `Layer`.

`read_layers` stacks them, lowest precedence first (detected scheduler <
config file < PET_* environment < ``config`` < flags), and is what the container's ``layers``
provider calls. Adding a source is one function here plus its line in
`read_layers` (and, when it reads a new input, that input as a provider
of the container).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, NamedTuple

from ..errors import ConfigError, ConfigFileError
from ..text import quote
from .layers import KEYS, Layer, check_key, text_key
from .policy import DISABLE_AUTOLOAD_ENV
from .schedulers import SCHEDULER_ENV, Detector, SchedulerDetector, stack
from .torchrun import TORCHRUN_OPTIONS
from .values import parse_bool
from .yaml_file import read_settings_file, settings_under

ADMISSION_ENV = "PET_ADMISSION"
"""The ``admission`` setting as a variable, in torchrun's PET_* style (``--admission``'s twin)."""


def from_mapping(mapping: Mapping[str, Any] | None, source: str = "explicit") -> Layer:
    """A layer from a mapping with the flat configuration keys (None values are unset)."""
    layer = Layer()
    if not mapping:
        return layer
    if not isinstance(mapping, Mapping):
        raise ConfigError(
            "configuration", mapping, "expected a mapping of settings", choices=KEYS, source=source
        )
    keys = [text_key("configuration", k, source, "setting names", KEYS) for k in mapping]
    if "nnodes" in keys and ({"min_nodes", "max_nodes"} & set(keys)):
        raise ConfigError(
            "nnodes",
            mapping["nnodes"],
            "give either nnodes or min_nodes/max_nodes, not both",
            source=source,
        )
    for key, value in mapping.items():
        check_key(key, key, KEYS, source)
        if value is not None:
            layer.set(key, value, source)
    return layer


def from_config_file(
    path: str | os.PathLike[str] | None,
    environ: Mapping[str, str] | None = None,
    key: str | None = None,
) -> Layer:
    """A layer from a YAML file (none when ``path`` is None); ``${VAR}`` is expanded first.

    With ``key`` (``rendezvous``, ``platform.rendezvous``) the file is a platform's own
    and the settings sit under that key; its other keys are not ours and are ignored.
    """
    if path is None:
        if key is not None:
            raise ConfigError(
                "config_key",
                key,
                f"{quote(key)} needs a config file to look in",
                hint="give --config FILE (or --profile NAME)",
            )
        return Layer()
    name = os.fspath(path)
    data = read_settings_file(name, os.environ if environ is None else environ)
    if key is not None:
        data = settings_under(data, key, name)
    if data is None:
        return Layer()
    if not isinstance(data, Mapping):
        raise ConfigFileError(
            name, f"expected a mapping of settings at the top, got {type(data).__name__}"
        )
    label = f"file {name}" if key is None else f"file {name} under {key}"
    return from_mapping(data, source=label)


def from_environ(environ: Mapping[str, str] | None = None) -> Layer:
    """A layer from the PET_* variables torchrun and Kubeflow's PyTorchJob use.

    An empty variable counts as unset, as operators often export blanks.
    ``environ`` None reads nothing (the container's way to ignore the environment).
    """
    layer = Layer()
    if environ is None:
        return layer
    for option in TORCHRUN_OPTIONS:
        value = environ.get(option.env, "")
        if value.strip():
            layer.set(option.key, value.strip(), f"env {option.env}")
    scheduler = environ.get(SCHEDULER_ENV, "").strip()
    if scheduler:
        layer.set("scheduler", scheduler, f"env {SCHEDULER_ENV}")
    admission = environ.get(ADMISSION_ENV, "").strip()
    if admission:
        layer.set("admission", admission, f"env {ADMISSION_ENV}")
    disable = environ.get(DISABLE_AUTOLOAD_ENV, "").strip()
    source = f"env {DISABLE_AUTOLOAD_ENV}"
    if disable and parse_bool(disable, "plugins.autoload", source):
        layer.set("plugins", {"autoload": False}, source)
    return layer


def read_layers(
    config_file: str | os.PathLike[str] | None,
    environ: Mapping[str, str] | None,
    config: Mapping[str, Any] | None,
    flags: Mapping[str, Any] | None,
    config_key: str | None = None,
    scheduler: Detector | None = None,
) -> tuple[Layer, ...]:
    """Every source's layer, lowest precedence first: what settings and the policy read.

    Every source is read again on each call (a changed file or variable is
    seen at once); the caller may reuse what it computed from equal layers.
    The ``scheduler`` detector's layer goes under the file, chosen by the
    ``scheduler`` setting of the layers above (`rendezvous_di.config.schedulers`).
    """
    above = (
        from_config_file(config_file, environ, config_key),
        from_environ(environ),
        from_mapping(config, source="config"),
        from_flags(flags),
    )
    return stack(scheduler or SchedulerDetector(), above, environ)


class FlagValue(NamedTuple):
    """A value derived from another flag than the key's own (static's ``--master-addr``)."""

    value: Any
    flag: str


def from_flags(flags: Mapping[str, Any] | None) -> Layer:
    """A layer from torchrun flags given by their settings key; None or False means not given."""
    layer = Layer()
    if not flags:
        return layer
    by_key = {o.key: o.flag for o in TORCHRUN_OPTIONS}
    for key, given in flags.items():
        value, flag = given if isinstance(given, FlagValue) else (given, by_key.get(key, key))
        if value is not None and value is not False:
            layer.set(key, value, f"flag {flag}")
    return layer
