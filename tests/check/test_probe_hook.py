"""The probe hook for backends that are not torch's built-ins (plugins, platform providers)."""

from __future__ import annotations

import io
from typing import Any

from dependency_injector import providers

from rendezvous_di import RendezvousContainer
from rendezvous_di.check import run_check
from rendezvous_di.probe import Deadline, probe_out_of_tree


class Loader:
    """Stands in for a plugin loader: the boundary the hook is about."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls = 0

    def creator(self) -> Any:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return lambda params: None


class Slot:
    def __init__(self, *loaders: Loader) -> None:
        self.loaders = loaders


def never_called(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the probe must not create a handler")


def test_a_loadable_plugin_is_ready_and_no_handler_is_created() -> None:
    loader = Loader()
    result = probe_out_of_tree("mine", providers.Factory(never_called, loader), Deadline(5))
    assert result.ok
    assert result.detail == "the plugin for 'mine' loads"
    assert loader.calls == 1


def test_a_plugin_that_fails_to_load_is_reported_with_its_error() -> None:
    slot = Slot(Loader(ImportError("No module named 'mine_rdzv'")))
    result = probe_out_of_tree("mine", providers.Factory(never_called, slot), Deadline(5))
    assert not result.ok
    assert "cannot be loaded: ImportError: No module named 'mine_rdzv'" in result.detail
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
