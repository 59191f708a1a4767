"""A platform backend declared with ``add_backend(..., options=...)``: the built-ins' treatment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import containers, providers

from rendezvous_di import (
    ConfigError,
    RendezvousContainer,
    UnknownOptionError,
    add_backend,
    builtin_options,
    describe_backends,
)
from rendezvous_di.testing import FakeRendezvousHandler
from tests.support.procs import REPO, run_cli

OWN = f"{REPO / 'tests' / 'platform' / 'own_container.py'}:Own"
OPTIONS = {
    "zone": {"type": "str", "default": "a", "help": "placement zone", "choices": ["a", "b"]},
    "spare_nodes": {"type": "int", "default": 0, "help": "standby nodes", "minimum": 0},
}


class Platform(containers.DeclarativeContainer):
    config = providers.Configuration()
    rendezvous = providers.Container(RendezvousContainer, config=config.rendezvous)
    add_backend(
        rendezvous,
        "zoned",
        providers.Factory(FakeRendezvousHandler.from_parameters, params=rendezvous.parameters),
        options=OPTIONS,
    )


def platform(**conf: Any) -> Any:
    made = Platform()
    made.rendezvous.environ.override({})
    made.config.from_dict(
        {"rendezvous": {"backend": "zoned", "endpoint": "anywhere", "run_id": "r", "conf": conf}}
    )
    return made


def test_declared_options_reach_the_creator_converted() -> None:
    made = platform(zone="B", spare_nodes="2")
    handler = made.rendezvous.handler()
    assert handler.get_backend() == "zoned"
    assert made.rendezvous.parameters().config == {"zone": "b", "spare_nodes": 2}
    made.shutdown_resources()


@pytest.mark.parametrize(
    ("conf", "error", "text"),
    [
        ({"spare_node": "2"}, UnknownOptionError, "did you mean 'spare_nodes'?"),
        ({"zone": "c"}, ConfigError, "'c' is not valid; valid choices: a, b"),
        ({"spare_nodes": "-1"}, ConfigError, "must be >= 0, got -1"),
        ({"spare_nodes": "two"}, ConfigError, "'two' is not an integer"),
    ],
)
def test_declared_options_are_checked(
    conf: dict[str, str], error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text.replace("(", r"\(").replace("?", r"\?")):
        platform(**conf).rendezvous.settings()


def test_declared_options_are_listed_with_their_types() -> None:
    (row,) = [b for b in describe_backends(platform().rendezvous()) if b.name == "zoned"]
    assert (row.source, row.status) == ("container", "available")
    assert [(o.name, o.type_name) for o in row.options] == [
        ("zone", "a|b"),
        ("spare_nodes", "int"),
        ("timeout", "int"),
    ]


def test_a_bad_declaration_is_refused_naming_the_option() -> None:
    container = RendezvousContainer()
    with pytest.raises(ConfigError, match=r"rendezvous_options\['zone'\]\['type'\] is 'text'"):
        add_backend(container, "bad", providers.Object(None), options={"zone": {"type": "text"}})
    with pytest.raises(ConfigError, match="unknown key 'defualt'"):
        add_backend(container, "bad", providers.Object(None), options={"z": {"defualt": 1}})
    assert "bad" not in container.backends.providers


def test_builtin_options_round_trip_to_the_same_validation() -> None:
    container = RendezvousContainer()
    container.environ.override({})
    add_backend(
        container,
        "c10d-like",
        providers.Factory(FakeRendezvousHandler.from_parameters, params=container.parameters),
        options=builtin_options("c10d"),
    )
    container.config.from_dict(
        {"backend": "c10d-like", "endpoint": "x", "conf": {"join_timeout": "60", "is_host": "no"}}
    )
    assert container.settings().conf == {"join_timeout": 60, "is_host": False}
    container.config.conf.from_value({"heartbeat": "3"})
    hint = "did you mean 'heartbeats' or 'heartbeat_timeout'"
    with pytest.raises(UnknownOptionError, match=hint):
        container.settings()


def test_the_cli_checks_and_lists_declared_options(tmp_path: Path) -> None:
    base = ["--container", OWN, "--rdzv-backend", "zoned", "--rdzv-endpoint", "x"]
    typo = run_cli(["config", *base, "--rdzv-conf", "zon=b"], cwd=tmp_path)
    assert typo.returncode == 2
    assert typo.stderr.splitlines() == [
        "error: conf.zon (from flag --rdzv-conf): backend 'zoned' has no option 'zon'; "
        "valid choices: spare_nodes, strict, timeout, zone; did you mean 'zone'?"
    ]
    shown = run_cli(
        ["config", "--json", *base, "--rdzv-conf", "zone=B,strict=0,spare_nodes=3"], cwd=tmp_path
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["values"]["conf"] == {
        "zone": "b",
        "strict": False,
        "spare_nodes": 3,
    }
    listed = run_cli(["backends", "--json", "--container", OWN], cwd=tmp_path)
    (zoned,) = [b for b in json.loads(listed.stdout) if b["name"] == "zoned"]
    assert [o["name"] for o in zoned["options"]] == ["zone", "spare_nodes", "strict", "timeout"]
    assert zoned["options"][0]["choices"] == ["a", "b"]
