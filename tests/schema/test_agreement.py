"""The schema and the loader agree: each file below goes through both, with the same verdict.

Files we accept must be accepted by the schema (an editor must never flag a file
that works), and files we refuse must be refused by it wherever a schema can say
why: an unknown key, a backend option of the wrong type or out of its choices, a
value out of range, the wrong backend's option. The expected verdict is written
down, so neither side can pass by agreeing with a broken other.
"""

from __future__ import annotations

from typing import Any

import pytest

from rendezvous_di import ConfigError
from rendezvous_di.config.layers import KEYS
from tests.schema.conftest import as_an_editor_reads

ACCEPTED = {
    "empty file": "",
    "only a comment": "# nothing set\n",
    "node range as text": 'backend: c10d\nendpoint: "h:29400"\nnnodes: "1:4"\n',
    "node range unquoted": "backend: c10d\nendpoint: h:29400\nnnodes: 1:4\n",
    "node counts as text": 'backend: c10d\nendpoint: h:1\nmin_nodes: "2"\nmax_nodes: " +4 "\n',
    "node count with an underscore": "backend: c10d\nendpoint: h:1\nmin_nodes: 1_0\n",
    "options as text, booleans in any case": (
        'conf:\n  join_timeout: "60"\n  is_host: "YES"\n  read_timeout: 30\n'
    ),
    "a choice in any case": 'conf:\n  store_type: " TCP "\n',
    "a boolean word": "conf:\n  is_host: n\n",
    "one node, no backend: c10d's options": "conf:\n  join_timeout: 60\n",
    "several nodes, no backend: static's options": "nnodes: 2\nconf:\n  rank: 0\n",
    "several min nodes, no backend: static": "min_nodes: 3\nconf:\n  rank: 1\n",
    "a master port, no backend: static": "master_port: 29501\nconf:\n  rank: 0\n  timeout: 600\n",
    "node count from a variable, no backend: either": "nnodes: ${NODES:2}\nconf:\n  rank: 0\n",
    "nulls are unset": "backend: ~\nendpoint: ~\nrun_id: ~\nconf: ~\nplugins: ~\n",
    "plugins block": 'plugins:\n  autoload: "N"\n  allow: "a,b"\n  deny: [x]\n',
    "etcd-v3 options": "backend: etcd-v3\nconf:\n  lease_ttl: 30\n  protocol: Http\n",
    "torchrun's conf text": 'conf: "join_timeout=60,read_timeout=30"\n',
    "conf text quoted, with blanks and an empty item": (
        "conf: \"'join_timeout = 60, ,read_timeout=30,'\"\n"
    ),
    "static with its rank as text": (
        'backend: static\nendpoint: "h:29500"\nnnodes: 2\nconf:\n  rank: "0"\n'
    ),
    "torchrun's master keys": (
        'nnodes: 2\nnode_rank: "+1"\nmaster_addr: head\nmaster_port: "29500"\n'
    ),
    "a bracketed local address": 'local_addr: "[::1]"\n',
    "standalone": "standalone: yes\n",
    "variables anywhere": (
        "backend: ${BACKEND:c10d}\nendpoint: ${HOST:localhost}:29400\nrun_id: ${JOB:j}\n"
        "min_nodes: ${N:1}\nconf:\n  join_timeout: ${T:60}\n"
    ),
}

REFUSED = {
    "an unknown key": "backnd: c10d\n",
    "an unknown option": "conf:\n  join_timout: 60\n",
    "an option of the wrong type": "backend: c10d\nconf:\n  join_timeout: soon\n",
    "a float for an integer option": 'conf:\n  join_timeout: "1.5"\n',
    "a choice not offered": "conf:\n  store_type: udp\n",
    "a boolean option that is not one": "conf:\n  is_host: maybe\n",
    "an option below its minimum": "conf:\n  join_timeout: 0\n",
    "an unknown backend": "backend: c10dd\n",
    "a backend that is not text": "backend: 5\n",
    "nnodes and min_nodes": "nnodes: 2\nmin_nodes: 1\n",
    "no nodes": "min_nodes: 0\n",
    "a node range from zero": 'nnodes: "0:4"\n',
    "a node count that is no number": "max_nodes: many\n",
    "a plugins setting that is not one": "plugins:\n  allowed: [x]\n",
    "autoload that is not a boolean": "plugins:\n  autoload: maybe\n",
    "several nodes, no backend: c10d's options are static's error": (
        "nnodes: 2\nconf:\n  join_timeout: 60\n"
    ),
    "another backend's option": "backend: etcd-v3\nconf:\n  store_type: tcp\n",
    "a port past 65535": "master_port: 70000\n",
    "a negative node rank": "node_rank: -1\n",
    "a node rank with two signs": 'node_rank: "+-3"\nnnodes: 2\n',
    "a port in superscript digits": 'master_port: "\u00b2"\n',
    "an empty run id": 'run_id: ""\n',
    "a list at the top": "- backend\n- c10d\n",
    "a list of options": "conf: [a, b]\n",
    "conf text without a value": 'conf: "join_timeout"\n',
    "conf text without a key": 'conf: "=60"\n',
    "conf text with an empty value": 'conf: "join_timeout= ,read_timeout=3"\n',
    "standalone that is not a boolean": "standalone: perhaps\n",
    "a null option value": "conf:\n  join_timeout: ~\n",
}

if "scheduler" in KEYS:  # the scheduler source's key (issue 14), once it is a setting
    ACCEPTED["a scheduler in any case"] = "scheduler: ' None '\n"
    ACCEPTED["scheduler detection"] = "scheduler: auto\n"
    REFUSED["a scheduler not offered"] = "scheduler: pbs\n"


def loader_accepts(settings_of: Any, text: str) -> bool:
    try:
        settings_of(text)
    except ConfigError:
        return False
    return True


@pytest.mark.parametrize("text", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_files_we_accept_the_schema_accepts(validator: Any, settings_of: Any, text: str) -> None:
    assert loader_accepts(settings_of, text)
    errors = [e.message for e in validator.iter_errors(as_an_editor_reads(text))]
    assert errors == []


@pytest.mark.parametrize("text", REFUSED.values(), ids=REFUSED.keys())
def test_files_we_refuse_the_schema_refuses(validator: Any, settings_of: Any, text: str) -> None:
    assert not loader_accepts(settings_of, text)
    assert not validator.is_valid(as_an_editor_reads(text))


def test_the_keys_are_the_settings_keys(printed_schema: dict[str, Any]) -> None:
    """Every key a file may hold, and no other (``scheduler`` once it is a setting)."""
    assert tuple(printed_schema["properties"]) == KEYS
    assert printed_schema["additionalProperties"] is False


def test_the_backends_are_the_selectable_ones(printed_schema: dict[str, Any]) -> None:
    backend = printed_schema["properties"]["backend"]["anyOf"][0]
    assert {"c10d", "etcd", "etcd-v2", "static", "etcd-v3"} <= set(backend["enum"])


def test_options_carry_their_description_default_and_choices(
    printed_schema: dict[str, Any],
) -> None:
    (c10d,) = [
        rule["then"]["properties"]["conf"]
        for rule in printed_schema["allOf"]
        if rule.get("if", {}).get("properties", {}).get("backend") == {"const": "c10d"}
    ]
    assert c10d["additionalProperties"] is False
    store_type = c10d["properties"]["store_type"]
    assert store_type["anyOf"][0] == {"enum": ["tcp", "file"]}
    assert store_type["default"] == "tcp"
    join = c10d["properties"]["join_timeout"]
    assert (join["default"], join["anyOf"][0]["minimum"]) == (600, 1)
    assert "rendezvous must complete" in join["description"]
