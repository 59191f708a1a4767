"""Probes of backends that are not torch's built-ins (plugins, platform providers)."""

from __future__ import annotations

import io
from typing import Any

from dependency_injector import providers

from rendezvous_di import RendezvousContainer
from rendezvous_di.backends.probing import probe
from rendezvous_di.cli.check import run_check
from rendezvous_di.config.settings import resolve_settings
from rendezvous_di.config.sources import from_mapping
from rendezvous_di.plugins.entry_points import InstalledEntryPoint
from rendezvous_di.plugins.loader import PluginLoader
from rendezvous_di.plugins.spec import PluginSpec
from rendezvous_di.registry.catalog import builtin_catalog

GETTER_CALLS: list[str] = []


def never_called(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the probe must not create a handler")


def getter() -> Any:
    """A plugin's entry point object, loaded for real from this module."""
    GETTER_CALLS.append("getter")
    return never_called


def loader_of(target: str) -> PluginLoader:
    entry_point = InstalledEntryPoint("mine", target, "torchrun.handlers")
    return PluginLoader(PluginSpec("mine", target, entry_point))


SETTINGS = resolve_settings([from_mapping({"endpoint": "anywhere"})], catalog=builtin_catalog())


def test_a_loadable_plugin_is_ready_and_no_handler_is_created() -> None:
    GETTER_CALLS.clear()
    loader = loader_of(f"{__name__}:getter")
    result = probe(SETTINGS, loader.description(), 5)
    assert result.ok
    assert result.detail == "the plugin for 'mine' loads"
    assert GETTER_CALLS == ["getter"]


def test_a_plugin_that_fails_to_load_is_reported_with_its_error() -> None:
    loader = loader_of("mine_rdzv_not_installed:getter")
    result = probe(SETTINGS, loader.description(), 5)
    assert not result.ok
    assert "cannot be loaded: PluginLoadError: " in result.detail
    assert "No module named 'mine_rdzv_not_installed'" in result.detail
    assert result.fix is not None
    assert "rendezvous-di backends" in result.fix


def test_a_provider_declared_in_code_is_not_probed_and_does_not_fail() -> None:
    container = RendezvousContainer()
    container.environ.override({})
    entries = dict(container.backends.providers)
    container.backends.set_providers(**entries, mine=providers.Factory(never_called))
    container.config.from_dict({"backend": "mine", "endpoint": "anywhere"})
    out, err = io.StringIO(), io.StringIO()
    assert run_check(container, 5, out, err, as_json=False) == 0
    assert "ready: backend 'mine' is declared in code: not probed" in out.getvalue()
