"""The plugins policy: allow, deny, autoload, override_builtins, and same-name conflicts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rendezvous_di import ConfigError, PluginSelectionError, describe_backends
from tests.plugins.conftest import Events


def rows(container: Any, name: str) -> list[tuple[str, str, str | None]]:
    return [
        (i.source, i.status, i.distribution) for i in describe_backends(container) if i.name == name
    ]


@pytest.mark.parametrize("denied", ["good", "rdzv-good", "RDZV_Good"])
def test_deny_by_backend_or_distribution_name(
    install: Callable[..., None],
    events: Events,
    make_container: Callable[..., Any],
    denied: str,
) -> None:
    install("rdzv-good", "rdzv-boom")
    container = make_container(backend="good", plugins={"deny": [denied]})
    with pytest.raises(PluginSelectionError) as caught:
        container.settings()
    message = str(caught.value)
    assert "backend 'good'" in message
    assert "'rdzv-good' 1.0" in message
    assert "is denied: listed in plugins.deny (plugins policy from config)" in message
    assert "valid choices: boom, c10d, etcd, etcd-v2, etcd-v3, static" in message
    with pytest.raises(PluginSelectionError):
        container.backends.providers["good"]()  # the entry itself refuses too (torch's path)
    assert rows(container, "good") == [("plugin", "denied", "rdzv-good")]
    assert events.lines() == []


def test_allow_admits_only_the_listed_plugins(
    install: Callable[..., None], make_container: Callable[..., Any]
) -> None:
    install("rdzv-good", "rdzv-boom")
    container = make_container(backend="boom", plugins={"allow": "good"})
    with pytest.raises(PluginSelectionError, match=r"not listed in plugins.allow \(good\)"):
        container.settings()
    assert rows(container, "good") == [("plugin", "not loaded", "rdzv-good")]
    assert rows(container, "boom") == [("plugin", "denied", "rdzv-boom")]


def test_autoload_off_by_environment_denies_plugins_unless_allowed(
    install: Callable[..., None], make_container: Callable[..., Any]
) -> None:
    install("rdzv-good")
    off = {"RENDEZVOUS_DI_DISABLE_PLUGIN_AUTOLOAD": "1"}
    container = make_container(environ=off, backend="good")
    with pytest.raises(PluginSelectionError) as caught:
        container.settings()
    assert "plugin autoload is off" in str(caught.value)
    assert "env RENDEZVOUS_DI_DISABLE_PLUGIN_AUTOLOAD" in str(caught.value)
    allowed = make_container(environ=off, backend="good", plugins={"allow": ["good"]})
    assert allowed.backends().get_backend() == "good"


def test_a_plugin_named_like_a_builtin_is_shadowed_unless_listed(
    install: Callable[..., None], events: Events, make_container: Callable[..., Any]
) -> None:
    install("rdzv-c10d")
    container = make_container(backend="c10d", endpoint="localhost:0", conf={"join_timeout": 60})
    assert type(container.handler()).__name__ == "DynamicRendezvousHandler"  # torch's own
    assert rows(container, "c10d") == [
        ("builtin", "available", "torch"),
        ("plugin", "shadowed", "rdzv-c10d"),
    ]
    assert events.lines() == []

    # The built-in schema still guards the built-in: a misspelt option is refused.
    with pytest.raises(ConfigError, match="has no option 'flavour'"):
        make_container(backend="c10d", conf={"flavour": "x"}).settings()


def test_a_backend_declared_in_code_wins_and_the_plugin_is_listed_as_shadowed(
    install: Callable[..., None], events: Events, make_container: Callable[..., Any]
) -> None:
    from dependency_injector import providers

    from rendezvous_di import add_backend
    from rendezvous_di.testing.fake import FakeRendezvous

    install("rdzv-good")
    container = make_container(backend="good", endpoint="head:1", run_id="r")
    fake = FakeRendezvous(backend="good")
    add_backend(container, "good", providers.Factory(fake.handler), replace=True)
    assert container.handler().get_backend() == "good"
    (shadowed,) = [
        i for i in describe_backends(container) if i.name == "good" and i.source == "plugin"
    ]
    assert rows(container, "good") == [
        ("container", "available", None),
        ("plugin", "shadowed", "rdzv-good"),
    ]
    assert shadowed.reason == (
        "the container declares 'good' in code, which wins over installed plugins"
    )
    assert events.lines() == []  # listed from metadata, never imported


def test_override_builtins_lets_the_plugin_replace_the_builtin(
    install: Callable[..., None], events: Events, make_container: Callable[..., Any]
) -> None:
    install("rdzv-c10d")
    container = make_container(
        backend="c10d",
        endpoint="not-a-host-port",
        conf={"flavour": "x"},  # the plugin's own option: no built-in schema applies
        plugins={"override_builtins": ["c10d"]},
    )
    handler = container.handler()
    assert type(handler).__module__ == "rdzv_c10d"
    assert handler.params.config == {"flavour": "x"}
    assert handler.params.endpoint == "not-a-host-port"
    assert events.lines() == ["import c10d", "getter c10d"]
    statuses = rows(container, "c10d")
    assert statuses == [("builtin", "shadowed", "torch"), ("plugin", "loaded", "rdzv-c10d")]


def test_overriding_the_policy_provider_reaches_settings_and_is_undone(
    install: Callable[..., None], make_container: Callable[..., Any]
) -> None:
    from dependency_injector import providers

    from rendezvous_di import PluginPolicy

    install("rdzv-c10d")
    container = make_container(backend="c10d", endpoint="h:1", conf={"flavour": "x"})
    with pytest.raises(ConfigError, match="has no option 'flavour'"):
        container.settings()  # the built-in serves c10d: its schema applies
    with container.plugin_policy.override(
        providers.Object(PluginPolicy(override_builtins=("c10d",)))
    ):
        settings = container.settings()
        assert settings.conf == {"flavour": "x"}  # the plugin reads its own options
        assert settings.plugins.override_builtins == ("c10d",)
        assert settings.source_of("plugins.override_builtins") == "override of plugin_policy"
        assert type(container.handler()).__module__ == "rdzv_c10d"
    container.shutdown_resources()
    with pytest.raises(ConfigError, match="has no option 'flavour'"):
        container.settings()  # the memo does not keep the overridden policy's answer


def test_two_distributions_declaring_one_name_is_a_conflict_naming_both(
    install: Callable[..., None], events: Events, make_container: Callable[..., Any]
) -> None:
    install("rdzv-twin-a", "rdzv-twin-b")
    container = make_container(backend="twin")
    with pytest.raises(PluginSelectionError) as caught:
        container.settings()
    error = caught.value
    assert "'rdzv-twin-a' 1.0 (rdzv_twin_a:get_handler)" in str(error)
    assert "'rdzv-twin-b' 2.0 (rdzv_twin_b:get_handler)" in str(error)
    assert sorted(error.choices) == ["rdzv-twin-a", "rdzv-twin-b"]
    assert rows(container, "twin") == [
        ("plugin", "conflict", "rdzv-twin-a"),
        ("plugin", "conflict", "rdzv-twin-b"),
    ]
    assert events.lines() == []

    # Denying one distribution settles it.
    settled = make_container(backend="twin", plugins={"deny": ["rdzv-twin-a"]})
    assert type(settled.backends()).__module__ == "rdzv_twin_b"


def test_the_policy_can_come_from_the_config_file(
    install: Callable[..., None], make_container: Callable[..., Any], tmp_path: Path
) -> None:
    install("rdzv-good")
    config = tmp_path / "rdzv.yaml"
    config.write_text("backend: good\nplugins:\n  deny: [good]\n")
    container = make_container()
    container.config_file.override(str(config))
    with pytest.raises(PluginSelectionError, match=f"plugins policy from file {config}"):
        container.settings()


def test_an_invalid_policy_names_the_field_and_its_source(
    make_container: Callable[..., Any],
) -> None:
    container = make_container(plugins={"autoload": "sometimes"})
    with pytest.raises(ConfigError) as caught:
        container.plugin_policy()
    assert caught.value.field == "plugins.autoload"
    assert caught.value.source == "config"
