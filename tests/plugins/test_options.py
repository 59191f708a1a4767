"""Options a plugin declares on its creator (``rendezvous_options``): the built-ins' treatment.

The ``tuned`` test plugin is a real installed distribution whose creator carries
a plain mapping of options; it imports nothing of rendezvous-di.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from rendezvous_di import ConfigError, UnknownOptionError, describe_backends
from tests.plugins.conftest import Events
from tests.support.procs import run_cli

TUNED = {"backend": "tuned", "endpoint": "anywhere", "run_id": "r"}


def test_declared_options_are_converted_for_the_creator(
    install: Callable[..., None], make_container: Callable[..., Any]
) -> None:
    install("rdzv-tuned")
    conf = {"rounds": "5", "ratio": "0.25", "mode": " SAFE ", "verbose": "yes"}
    container = make_container(**TUNED, conf=conf)
    expected = {"rounds": 5, "ratio": 0.25, "mode": "safe", "verbose": True}
    assert container.settings().conf == expected
    handler = container.handler()
    assert handler.params.config == expected  # what the plugin's creator received


@pytest.mark.parametrize(
    ("conf", "field", "problem"),
    [
        ({"rounds": "five"}, "conf.rounds", "'five' is not an integer"),
        ({"rounds": "0"}, "conf.rounds", "must be >= 1, got 0"),
        ({"ratio": "half"}, "conf.ratio", "'half' is not a number"),
        ({"verbose": "maybe"}, "conf.verbose", "'maybe' is not a boolean"),
        ({"mode": "slow"}, "conf.mode", "'slow' is not valid; valid choices: fast, safe"),
    ],
)
def test_declared_types_and_choices_are_enforced(
    install: Callable[..., None],
    make_container: Callable[..., Any],
    conf: dict[str, str],
    field: str,
    problem: str,
) -> None:
    install("rdzv-tuned")
    container = make_container(**TUNED, conf=conf)
    with pytest.raises(ConfigError) as caught:
        container.settings()
    assert caught.value.field == field
    assert problem in str(caught.value)
    assert "(from config)" in str(caught.value)


def test_an_unknown_option_names_the_nearest_declared_one(
    install: Callable[..., None], make_container: Callable[..., Any]
) -> None:
    install("rdzv-tuned")
    container = make_container(**TUNED, conf={"round": "5"})
    with pytest.raises(UnknownOptionError) as caught:
        container.settings()
    assert caught.value.hint == "did you mean 'rounds'?"
    assert caught.value.choices == ("mode", "ratio", "rounds", "timeout", "verbose")


def test_torchruns_own_timeout_is_always_accepted(
    install: Callable[..., None], make_container: Callable[..., Any]
) -> None:
    install("rdzv-tuned")
    container = make_container(**TUNED, conf={"timeout": "900"})
    assert container.settings().conf == {"timeout": 900}


def test_a_plugin_that_declares_nothing_keeps_the_pass_through(
    install: Callable[..., None], make_container: Callable[..., Any]
) -> None:
    install("rdzv-good")
    container = make_container(backend="good", endpoint="x", conf={"anything": "goes"})
    assert container.parameters().config == {"anything": "goes"}


def test_an_overridden_plugin_entry_is_not_imported_for_its_options(
    install: Callable[..., None], make_container: Callable[..., Any], events: Events
) -> None:
    from dependency_injector import providers

    from rendezvous_di.testing import FakeRendezvousHandler

    install("rdzv-tuned")
    container = make_container(**TUNED, conf={"anything": "goes"})
    fake = FakeRendezvousHandler(backend="tuned")
    with container.backends.providers["tuned"].override(providers.Object(fake)):
        assert container.handler() is fake
    assert events.lines() == []


def test_removing_the_override_brings_the_declared_options_back(
    install: Callable[..., None], make_container: Callable[..., Any], events: Events
) -> None:
    from dependency_injector import providers

    from rendezvous_di.testing import FakeRendezvousHandler

    install("rdzv-tuned")
    container = make_container(**TUNED, conf={"round": "5"})
    entry = container.backends.providers["tuned"]
    with entry.override(providers.Object(FakeRendezvousHandler(backend="tuned"))):
        assert container.settings().conf == {"round": "5"}  # the fake reads what it likes
    assert events.lines() == []
    with pytest.raises(UnknownOptionError, match="did you mean 'rounds'"):
        container.settings()  # same sources, but now the plugin serves the name


def test_listing_shows_declared_options_once_loaded(
    install: Callable[..., None], make_container: Callable[..., Any], events: Events
) -> None:
    install("rdzv-tuned")
    container = make_container()

    def tuned() -> Any:
        (row,) = [i for i in describe_backends(container) if i.name == "tuned"]
        return row

    assert tuned().options == ()  # not loaded: listing imports nothing
    assert events.lines() == []
    (row,) = [i for i in describe_backends(container, load=True) if i.name == "tuned"]
    assert [o.name for o in row.options] == ["rounds", "ratio", "mode", "verbose", "timeout"]
    assert [o.type_name for o in row.options] == ["int", "float", "fast|safe", "bool", "int"]
    assert tuned().options == row.options  # loaded now: shown without --load too


def test_an_invalid_declaration_is_a_load_failure_naming_the_plugin(
    install: Callable[..., None], make_container: Callable[..., Any]
) -> None:
    install("rdzv-baddecl")
    container = make_container()
    (row,) = [i for i in describe_backends(container, load=True) if i.name == "baddecl"]
    assert row.status == "failed"
    assert row.reason is not None
    assert "declares invalid options: rendezvous_options['rounds']['type'] is 'integer'" in (
        row.reason
    )


def test_pythons_own_types_declare_options_like_their_names(
    install: Callable[..., None], make_container: Callable[..., Any]
) -> None:
    install("rdzv-pytypes")
    container = make_container()
    (row,) = [i for i in describe_backends(container, load=True) if i.name == "pytypes"]
    assert row.status == "loaded", row.reason
    assert [o.type_name for o in row.options] == ["int", "float", "fast|safe", "bool", "int"]
    container.config.from_dict(
        {"backend": "pytypes", "conf": {"window": "12", "ratio": "0.25", "verbose": "yes"}}
    )
    assert container.settings().conf == {"window": 12, "ratio": 0.25, "verbose": True}


@pytest.mark.slow
def test_a_typo_in_an_option_of_a_python_typed_plugin_is_refused(
    pythonpath: Callable[..., dict[str, str]],
) -> None:
    done = run_cli(
        ["config", "--rdzv-backend", "pytypes", "--rdzv-conf", "windw=4"],
        env=pythonpath("rdzv-pytypes"),
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: conf.windw (from flag --rdzv-conf): backend 'pytypes' has no option 'windw'; "
        "valid choices: mode, ratio, timeout, verbose, window; did you mean 'window'?"
    ]


INVALID_DECLARATION = (
    "error: backend (from flag --rdzv-backend): plugin 'baddecl' from distribution "
    "'rdzv-baddecl' 0.7 (entry point rdzv_baddecl:get_handler) declares invalid options: "
    "rendezvous_options['rounds']['type'] is 'integer'; valid types: int, float, bool, str "
    "(by name, or Python's int, float, bool, str); fix the plugin's rendezvous_options, "
    "or select another backend"
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        ["config", "--rdzv-conf", "rounds=2"],
        ["check", "--timeout", "30"],
        ["run", "--dry-run", "train.py"],
        ["run", "train.py"],
    ],
    ids=["config", "check", "dry-run", "run"],
)
def test_a_selected_plugin_with_an_invalid_declaration_is_a_usage_error(
    command: list[str], pythonpath: Callable[..., dict[str, str]]
) -> None:
    """Its options would pass through unchecked, typos included: never silently."""
    line = [command[0], "--rdzv-backend", "baddecl", *command[1:]]
    done = run_cli(line, env=pythonpath("rdzv-baddecl"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[0] == INVALID_DECLARATION
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_the_cli_refuses_a_typo_with_one_error_line(
    pythonpath: Callable[..., dict[str, str]],
) -> None:
    done = run_cli(
        ["config", "--rdzv-backend", "tuned", "--rdzv-conf", "round=5"],
        env=pythonpath("rdzv-tuned"),
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: conf.round (from flag --rdzv-conf): backend 'tuned' has no option 'round'; "
        "valid choices: mode, ratio, rounds, timeout, verbose; did you mean 'rounds'?"
    ]


@pytest.mark.slow
def test_the_cli_converts_and_lists_declared_options(
    pythonpath: Callable[..., dict[str, str]],
) -> None:
    env = pythonpath("rdzv-tuned")
    done = run_cli(
        ["config", "--json", "--rdzv-backend", "tuned", "--rdzv-conf", "rounds=7,mode=Safe"],
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["values"]["conf"] == {"rounds": 7, "mode": "safe"}
    bad = run_cli(["check", "--rdzv-backend", "tuned", "--rdzv-conf", "mode=slow"], env=env)
    assert bad.returncode == 2
    assert bad.stderr.splitlines()[0].endswith("'slow' is not valid; valid choices: fast, safe")
    listed = run_cli(["backends", "--json", "--load"], env=env)
    (tuned,) = [b for b in json.loads(listed.stdout) if b["name"] == "tuned"]
    assert {o["name"]: o["type"] for o in tuned["options"]} == {
        "rounds": "int",
        "ratio": "float",
        "mode": "fast|safe",
        "verbose": "bool",
        "timeout": "int",
    }
