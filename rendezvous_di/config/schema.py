"""The settings file as a JSON Schema (draft 2020-12), for editors that check and complete YAML.

A pure function of the settings keys (`rendezvous_di.config.layers.KEYS`) and of each
backend's ``conf`` schema (built from its option descriptions by
`rendezvous_di.registry.json_schema`), so a plugin's declared options and a platform's
backends appear as soon as they are selectable.

The rule it follows: never refuse a file the loader accepts, and refuse what the loader
refuses wherever a schema can say it. So every value schema is written in the loader's
own grammars (`rendezvous_di.config.values`): a number may be written as text
(``min_nodes: "2"``, PET_* style), a boolean as any of torch's words in any case, a
choice in any case, and any text value may be a ``${VAR}`` / ``${VAR:default}``
reference, which an editor sees unexpanded. A top-level ``null`` means "not set", as
in the loader. What a schema cannot say is left to ``rendezvous-di config``: ``1.0``
where an integer is due (JSON has one number type), ``max_nodes >= min_nodes``, a
backend's endpoint grammar and rules spanning several options.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .layers import KEYS
from .master import DEFAULT_BACKEND, MAX_PORT, STATIC
from .policy import PLUGIN_KEYS
from .schedulers.table import choices
from .torchrun import MAX_DIGITS, TORCHRUN_OPTIONS
from .values import ENV_REFERENCE, FALSE_WORDS, MAX_INTEGER, TRUE_WORDS

Json = dict[str, Any]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:rendezvous-di:config-file"


def any_case(words: Sequence[str]) -> str:
    """A pattern matching one of ``words`` in any case, padded by blanks.

    JSON Schema's regular expressions (ECMA-262) have no case-insensitive flag.
    """

    def letters(word: str) -> str:
        return "".join(
            f"[{c.lower()}{c.upper()}]" if c.lower() != c.upper() else re.escape(c) for c in word
        )

    return rf"^\s*({'|'.join(letters(w) for w in words)})\s*$"


DEFINITIONS: Json = {
    "reference": {
        "type": "string",
        "pattern": ENV_REFERENCE.pattern,
        "description": "${VAR} or ${VAR:default}: expanded from the environment when read",
    },
    "boolean-word": {
        "type": "string",
        "pattern": any_case(TRUE_WORDS + FALSE_WORDS),
        "description": "one of torch's boolean words, in any case",
    },
}
"""Fragments the schema refers to more than once (``$defs``)."""
REFERENCE: Json = {"$ref": "#/$defs/reference"}

INTEGER_TEXT = r"^\s*[+-]?[0-9](_?[0-9])*\s*$"
"""What ``int()`` takes after the loader's ``[+-]?[0-9][0-9_]*`` check (single underscores)."""
NUMBER_TEXT = (
    r"^\s*[+-]?([0-9](_?[0-9])*(\.([0-9](_?[0-9])*)?)?|\.[0-9](_?[0-9])*)"
    r"([eE][+-]?[0-9](_?[0-9])*)?\s*$"
)
"""A finite number as ``float()`` reads it (``inf`` and ``nan`` are refused by the loader)."""
POSITIVE_TEXT = r"^\s*\+?(0_?)*[1-9](_?[0-9])*\s*$"
NNODES_TEXT = r"^\s*0*[1-9][0-9]*\s*(:\s*0*[1-9][0-9]*\s*)?$"
ONE_TEXT = r"^\s*\+?(0_?)*1\s*$"
ONE_RANGE_TEXT = r"^\s*0*1\s*(:\s*0*1\s*)?$"
_CONF_ITEM = r"(\s*|[^=,]*[^=,\s][^=,]*=[^,]*[^,\s][^,]*)"
_CONF_LIST = rf"{_CONF_ITEM}(,{_CONF_ITEM})*"
CONF_TEXT = rf"^({_CONF_LIST}|\s*'{_CONF_LIST}'\s*|\s*\"{_CONF_LIST}\"\s*)$"
"""torchrun's ``k1=v1,k2=v2`` (`rendezvous_di.config.torchrun.parse_conf`): each item a key
and a value, blanks around them and empty items ignored, the whole maybe in quote marks."""
RANK_TEXT = rf"^\s*(\+?[0-9]{{1,{MAX_DIGITS}}}|-0{{1,{MAX_DIGITS}}})\s*$"


def one_of_text(branches: Sequence[Json], description: str | None = None, **extra: Any) -> Json:
    """``anyOf`` the branches, or a ``${VAR}`` reference (any text value may be one)."""
    schema: Json = {"anyOf": [*branches, REFERENCE]}
    if description:
        schema["description"] = description
    schema.update({k: v for k, v in extra.items() if v is not None})
    return schema


def boolean(description: str | None = None, default: Any = None) -> Json:
    """A boolean as `rendezvous_di.config.values.parse_bool` reads it."""
    return one_of_text(
        [
            {"type": "boolean"},
            {"enum": [0, 1]},
            {"$ref": "#/$defs/boolean-word"},
        ],
        description,
        default=default,
    )


def integer(
    minimum: float | None = None,
    maximum: float | None = None,
    description: str | None = None,
    default: Any = None,
    *,
    text: str = INTEGER_TEXT,
) -> Json:
    """An integer, or its text, as `rendezvous_di.config.values.parse_number` reads it."""
    number: Json = {"type": "integer"}
    number["minimum"] = -MAX_INTEGER if minimum is None else minimum
    number["maximum"] = MAX_INTEGER if maximum is None else maximum
    return one_of_text([number, {"type": "string", "pattern": text}], description, default=default)


def number(
    minimum: float | None = None,
    maximum: float | None = None,
    description: str | None = None,
    default: Any = None,
) -> Json:
    """A finite number, or its text."""
    value: Json = {"type": "number"}
    value["minimum"] = -MAX_INTEGER if minimum is None else minimum
    value["maximum"] = MAX_INTEGER if maximum is None else maximum
    return one_of_text(
        [value, {"type": "string", "pattern": NUMBER_TEXT}], description, default=default
    )


def choice(choices: Sequence[str], description: str | None = None, default: Any = None) -> Json:
    """One of ``choices``, compared as the loader does: blanks stripped, in any case."""
    return one_of_text(
        [{"enum": list(choices)}, {"type": "string", "pattern": any_case(choices)}],
        description,
        default=default,
    )


def text(description: str | None = None, *, min_length: int = 0, default: Any = None) -> Json:
    schema: Json = {"type": "string"}
    if min_length:
        schema["minLength"] = min_length
    if description:
        schema["description"] = description
    if default is not None:
        schema["default"] = default
    return schema


def _help(key: str) -> str:
    flag = {o.key: o for o in TORCHRUN_OPTIONS}.get(key)
    return "" if flag is None else f"{flag.help} (torchrun's {flag.flag}, env {flag.env})"


def key_schemas(backends: Sequence[str]) -> dict[str, Json]:
    """The value schema of every settings key, by key (``backends``: the selectable names)."""
    names = {"type": "string"}
    name_list = {
        "anyOf": [names, {"type": "array", "items": names}],
        "description": "a name, comma-separated names, or a list of names",
    }
    policy = {
        "autoload": boolean("use installed plugins at all (off: only those in allow)", True),
        "allow": {**name_list, "description": "only these backend or distribution names"},
        "deny": {**name_list, "description": "never these backend or distribution names"},
        "override_builtins": {
            **name_list,
            "description": "built-in backend names a plugin of the same name may replace",
        },
    }
    assert tuple(policy) == PLUGIN_KEYS
    plugins = {
        "type": "object",
        "description": "which installed torchrun.handlers plugins may be used, and how",
        "properties": policy,
        "additionalProperties": False,
    }
    nodes = "integer >= 1, or its text"
    return {
        "backend": one_of_text(
            [{"enum": list(backends)}],
            f"{_help('backend')}; without one: {DEFAULT_BACKEND} on one node, "
            f"torchrun's {STATIC} at master_addr:master_port on several",
        ),
        "endpoint": text(_help("endpoint")),
        "run_id": text(_help("run_id"), min_length=1),
        "min_nodes": integer(
            1, 10**MAX_DIGITS - 1, f"fewest nodes the job runs with ({nodes})", text=POSITIVE_TEXT
        ),
        "max_nodes": integer(
            1, 10**MAX_DIGITS - 1, f"most nodes (default: min_nodes; {nodes})", text=POSITIVE_TEXT
        ),
        "nnodes": integer(
            1,
            10**MAX_DIGITS - 1,
            f"{_help('nnodes')}; instead of min_nodes/max_nodes",
            text=NNODES_TEXT,
        ),
        "local_addr": text(_help("local_addr"), min_length=1),
        "conf": {
            "type": ["object", "string"],
            "pattern": CONF_TEXT,  # a pattern constrains only text: the mapping is per backend
            "description": "the backend's options: a mapping, or torchrun's k1=v1,k2=v2 text",
        },
        "plugins": plugins,
        "standalone": boolean(_help("standalone")),
        "node_rank": integer(0, None, _help("node_rank"), text=RANK_TEXT),
        "master_addr": {"type": "string", "pattern": r"\S", "description": _help("master_addr")},
        "master_port": integer(0, MAX_PORT, _help("master_port"), text=RANK_TEXT),
        "scheduler": choice(
            choices(), "the scheduler whose job values sit under this file: auto detects it"
        ),
        "admission": {
            "type": ["string", "array", "object"],
            "description": "admission checks, in order: 'network,disk' (CHECK.OPTION=VALUE "
            "items set options), a list of names, or a mapping of name to its options",
            "items": {"type": ["string", "object"]},
            "additionalProperties": {"type": ["object", "null"]},
        },
    }


def _nullable(schema: Json) -> Json:
    """A top-level value or ``null``: the loader reads a null key as not set."""
    if "anyOf" in schema:
        return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    if isinstance(kind, list):
        return {**schema, "type": [*kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _present(key: str, value: Json | None = None) -> Json:
    """``key`` is given, not null (and matches ``value``)."""
    condition: Json = {"not": {"type": "null"}}
    if value is not None:
        condition = {"allOf": [condition, value]}
    return {"type": "object", "required": [key], "properties": {key: condition}}


def _absent(key: str) -> Json:
    return {"not": _present(key)}


def _counted(key: str, one: Json) -> tuple[Json, Json]:
    """(``key`` says more than one, ``key`` is a reference): where torchrun's default differs."""
    several = _present(key, {"not": {"anyOf": [one, REFERENCE]}})
    return several, _present(key, REFERENCE)


def _conf(schema: Json) -> Json:
    return {"properties": {"conf": schema}}


def default_backend_rules(conf: Mapping[str, Json | None]) -> list[Json]:
    """The ``conf`` of a file that names no backend: c10d's on one node, static's on several.

    torchrun's own rule (`rendezvous_di.config.master`): several nodes, or a
    ``master_port``, mean ``static``. Where a node count is a ``${VAR}``, either.
    """
    one = {"anyOf": [{"const": 1}, {"type": "string", "pattern": ONE_TEXT}]}
    one_range = {"anyOf": [{"const": 1}, {"type": "string", "pattern": ONE_RANGE_TEXT}]}
    nnodes, nnodes_ref = _counted("nnodes", one_range)
    most, most_ref = _counted("max_nodes", one)
    fewest, fewest_ref = _counted("min_nodes", one)
    port = _present("master_port", {"not": REFERENCE})
    several = {"anyOf": [nnodes, most, {"allOf": [_absent("max_nodes"), fewest]}, port]}
    unknown = {
        "anyOf": [
            nnodes_ref,
            most_ref,
            {"allOf": [_absent("max_nodes"), fewest_ref]},
            _present("master_port", REFERENCE),
        ]
    }
    one_node, many = conf.get(DEFAULT_BACKEND), conf.get(STATIC)
    if one_node is None or many is None:
        return []  # a platform serves one of them its own way: no rule to state
    unnamed = {"not": {"required": ["backend"], "properties": {"backend": {"type": "string"}}}}
    return [
        {
            "if": unnamed,
            "then": {
                "if": several,
                "then": _conf(many),
                "else": {
                    "if": unknown,
                    "then": _conf({"anyOf": [one_node, many]}),
                    "else": _conf(one_node),
                },
            },
        }
    ]


META = ("$schema", "$id", "title", "description", "$comment")


def file_schema(
    conf: Mapping[str, Json | None],
    *,
    keys: Sequence[str] = KEYS,
    comment: str | None = None,
    under: str | None = None,
) -> Json:
    """The JSON Schema of a settings file.

    Args:
        conf: every selectable backend name, with the schema of its ``conf``
            mapping, or None when its options pass through unchecked.
        keys: the settings keys a file may hold.
        comment: a ``$comment`` (what generated it, and where).
        under: the dotted key the settings sit under (``--config-key``: a
            platform's own YAML, whose other keys are its own business).
    """
    names = sorted(conf)
    values = key_schemas(names)
    missing = [key for key in keys if key not in values]
    if missing:  # a new settings key needs its value schema here
        raise ValueError(f"no value schema for settings key {missing[0]!r}")
    rules: list[Json] = [
        {
            "not": {
                "type": "object",
                "anyOf": [{"required": ["nnodes", k]} for k in ("min_nodes", "max_nodes")],
            },
            "description": "give either nnodes or min_nodes/max_nodes, not both",
        }
    ]
    for name in names:
        if conf[name] is not None:
            rules.append(
                {
                    "if": {"properties": {"backend": {"const": name}}, "required": ["backend"]},
                    "then": _conf(conf[name]),  # type: ignore[arg-type]
                }
            )
    rules.extend(default_backend_rules(conf))
    schema: Json = {
        "$schema": DIALECT,
        "$id": SCHEMA_ID,
        "title": "rendezvous-di settings file",
        "description": (
            "The settings keys of a rendezvous-di --config file (or a profile); PET_* "
            "variables and flags override them. ${VAR} and ${VAR:default} are expanded."
        ),
    }
    if comment:
        schema["$comment"] = comment
    schema.update(
        {
            "type": ["object", "null"],
            "properties": {key: _nullable(values[key]) for key in keys},
            "additionalProperties": False,
            "allOf": rules,
            "$defs": DEFINITIONS,
        }
    )
    return schema if under is None else nested(schema, under)


def nested(schema: Json, key: str) -> Json:
    """``schema`` as the value at the dotted ``key`` of a larger file, which must hold it."""
    meta = {k: schema[k] for k in META if k in schema}
    body: Json = {k: v for k, v in schema.items() if k not in META and k != "$defs"}
    for part in reversed(key.split(".")):
        body = {"type": "object", "required": [part], "properties": {part: body}}
    meta["description"] = f"A YAML file with the rendezvous-di settings under {key}: " + (
        meta.get("description", "")
    )
    return {**meta, **body, "$defs": schema["$defs"]}
