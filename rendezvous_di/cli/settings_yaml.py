"""``rendezvous-di config --format yaml``: the effective settings as a ``--config`` file.

Read back with ``--config``, the file gives the same effective values. Every
value is written, defaults included (a default can depend on other values or
change between versions: a file that says it does not), with three
exceptions, each with a ``#`` line saying so:

- a fresh run id (the default for one node) is left out: reproducing it
  would make a new job reuse an old job's id; read back, the file gives a
  fresh one again. ``--standalone`` is written as ``standalone: true`` for
  the same reason.
- the ``plugins`` block holds only what differs from the default policy.
- a secret option (``conf.password``) is left out unless ``--show-secrets``:
  a wrong ``***`` in a saved file would fail later and further away than a
  missing one.

A value holding ``${`` cannot be written: a file expands it as a variable.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from ..config.policy import PluginPolicy
from ..config.torchrun_values import has_fresh_run_id, is_secret, is_standalone
from ..config.yaml_file import dump_settings
from ..errors import ConfigError


def as_yaml(settings: Any, *, show_secrets: bool = False) -> str:
    """The file's text: a header, the notes, then the settings keys."""
    data: dict[str, Any] = {}
    notes: list[str] = []
    if is_standalone(settings):
        data["standalone"] = True
    else:
        data["backend"] = settings.backend
        data["endpoint"] = settings.endpoint
        if has_fresh_run_id(settings):
            notes.append(
                "run_id is left out: each one-node run gets a fresh id "
                f"(this one: {settings.run_id})"
            )
        else:
            data["run_id"] = settings.run_id
    nodes = settings.min_nodes, settings.max_nodes
    data["nnodes"] = nodes[0] if nodes[0] == nodes[1] else f"{nodes[0]}:{nodes[1]}"
    if settings.local_addr is not None:
        data["local_addr"] = settings.local_addr
    conf = {}
    for name, value in settings.conf.items():
        if is_secret(name) and not show_secrets:
            notes.append(f"conf.{name} is left out (a secret): add it, or give --show-secrets")
            continue
        conf[name] = value
    if conf:
        data["conf"] = conf
    plugins = _policy_changes(settings.plugins)
    if plugins:
        data["plugins"] = plugins
    if settings.admission:
        data["admission"] = {
            name: dict(options) or None for name, options in settings.admission.items()
        }
    _refuse_references(data)
    header = "# rendezvous-di config --format yaml: read it back with --config FILE\n"
    body = dump_settings(data)
    return header + "".join(f"# {note}\n" for note in notes) + body


def _policy_changes(policy: PluginPolicy) -> dict[str, Any]:
    default = PluginPolicy()
    changed = {}
    for item in fields(PluginPolicy):
        value = getattr(policy, item.name)
        if value != getattr(default, item.name):
            changed[item.name] = list(value) if isinstance(value, tuple) else value
    return changed


def _refuse_references(data: dict[str, Any], prefix: str = "") -> None:
    for key, value in data.items():
        field = f"{prefix}{key}"
        if isinstance(value, dict):
            _refuse_references(value, f"{field}.")
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str) and "${" in text:
                raise ConfigError(
                    field,
                    text,
                    "holds '${', which a --config file expands as a variable: no YAML file "
                    "gives this value back",
                    hint="give it as a flag or a PET_* variable; --format json shows it as is",
                )
