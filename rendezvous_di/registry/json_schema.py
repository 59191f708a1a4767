"""Backend options as JSON Schema, and the settings file's schema for a container's backends.

Each `OptionSpec` becomes the schema of its ``conf`` value, in the grammar its
``convert`` reads (`rendezvous_di.config.schema`); a backend with a schema
refuses unknown keys (``additionalProperties: false``), as validation does with
its did-you-mean, and one without (a plugin that declares no options) lets any
key through, as torch does.

A plugin's options are an attribute of its creator, known once it is loaded:
`served_options` loads the plugins that serve selectable names in one child
process (`rendezvous_di.plugins.isolation`), never in this one, so neither torch
nor a third-party plugin is imported here. This distribution's own plugin
(etcd-v3) is read here: its entry point's module imports neither torch nor a
client, and a child would cost a torch import (about 1.3 s) for our own code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..backends.builtin import BUILTIN_BACKENDS
from ..backends.options import OptionSchema, OptionSpec, declared_schema
from ..config import schema as grammar
from ..plugins.isolation import loading_in_a_child
from ..plugins.loader import PluginLoader, load_all
from .catalog import Catalog, fixed_description

if TYPE_CHECKING:
    from ..backends.deadline import Deadline
    from ..config.policy import PluginPolicy

Json = dict[str, Any]
OWN = "rendezvous_di."
"""Where the entry points of this distribution's own plugins point."""


def option_schema(spec: OptionSpec) -> Json:
    """The schema of one option's value: its type, choices, bounds, default and help."""
    description = spec.help
    if spec.required:
        description += " (required when the handler is created)"
    default = spec.default
    if spec.kind == "int":
        schema = grammar.integer(spec.minimum, spec.maximum, description, default)
    elif spec.kind == "float":
        schema = grammar.number(spec.minimum, spec.maximum, description, default)
    elif spec.kind == "bool":
        schema = grammar.boolean(description, default)
    elif spec.kind == "choice":
        schema = grammar.choice([str(c) for c in spec.choices], description, default)
    elif spec.kind == "file":
        schema = {"type": "string", "pattern": r"\S", "description": description}
        if default is not None:
            schema["default"] = default
    else:
        schema = grammar.text(description, default=default)
    if spec.choices and spec.kind in ("int", "float"):
        numbers = [c for c in spec.choices if not isinstance(c, bool)]
        schema["anyOf"] = [{"enum": numbers}, *schema["anyOf"][1:]]
    return schema


def conf_schema(schema: OptionSchema | None) -> Json | None:
    """The schema of a backend's ``conf`` mapping; None when its options pass through."""
    if schema is None:
        return None
    return {
        "properties": {spec.name: option_schema(spec) for spec in schema.options},
        "additionalProperties": False,
    }


def served_options(
    container: Any,
    policy: PluginPolicy,
    names: Iterable[str] | None = None,
    *,
    deadline: Deadline | None = None,
) -> dict[str, OptionSchema | None]:
    """The options of each selectable name (or of ``names``), as whoever serves it declares.

    Built-ins and backends declared in code answer from their descriptions; a
    plugin's options are read by loading it in a child process, this
    distribution's own in this one. A plugin that fails to load, or declares
    none, passes its options through: None.

    Raises:
        ProbeTimeout: the child loading plugins outlived ``deadline`` (a plugin
            whose import hangs; it is killed and named).
    """

    catalog = Catalog(container.backends.providers)
    wanted = [n for n in (catalog.selectable(policy) if names is None else names) if n in catalog]
    loaders: dict[str, PluginLoader] = {}
    found: dict[str, OptionSchema | None] = {}
    for name in wanted:
        entry = catalog.entries[name]
        claim = getattr(entry, "claim", None)
        if claim is None:
            found[name] = fixed_description(name, entry).schema
            continue
        decision = claim.decide(policy)
        if decision.kind == "builtin":
            found[name] = BUILTIN_BACKENDS[name].schema
        elif decision.kind == "plugin":
            own = _own_options(name, decision.loaders[0])
            if own is None:
                loaders[name] = decision.loaders[0]
            else:
                found[name] = own
        # otherwise nobody may serve the name (denied, a conflict): it is not selectable
    if loaders:
        with loading_in_a_child(deadline):
            load_all(loaders.values())
        for name, loader in loaders.items():
            options = loader.known_options()
            # A declared schema always holds torch's launcher ``timeout``: none means none declared.
            found[name] = OptionSchema(name, options) if options else None
    return {name: found[name] for name in sorted(found)}


def _own_options(name: str, loader: PluginLoader) -> OptionSchema | None:
    """The options of a plugin of this distribution (etcd-v3), read here; None for others."""
    if not loader.spec.value.startswith(OWN):
        return None
    return declared_schema(name, loader.spec.entry_point.load()())


def settings_file_schema(
    container: Any, *, under: str | None = None, deadline: Deadline | None = None
) -> Json:
    """The JSON Schema of a settings file for ``container``'s selectable backends.

    The plugin policy is the container's (its ``--config`` file's ``plugins``
    block, the environment): a denied plugin's name is not offered. ``under``:
    the settings sit under that dotted key of a platform's file; ``deadline``
    bounds loading plugins (`served_options`).
    """

    policy = container.plugin_policy()
    conf = {
        name: conf_schema(options)
        for name, options in served_options(container, policy, deadline=deadline).items()
    }
    comment = (
        f"generated by rendezvous-di {__version__} from the backends selectable where it ran "
        f"({', '.join(sorted(conf))}): run `rendezvous-di schema` again after installing a plugin"
    )
    return grammar.file_schema(conf, comment=comment, under=under)
