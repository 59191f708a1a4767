"""Both ways between the container and torch's registry, with plugins in the picture."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from dependency_injector import providers

from rendezvous_di import (
    ConfigError,
    RendezvousContainer,
    UnknownOptionError,
    add_torch_registry_backends,
    describe_backends,
    install,
)
from rendezvous_di._torch import rendezvous_module
from tests.plugins.conftest import Events


@pytest.fixture
def torch_rendezvous() -> Any:
    """torch's rendezvous package, imported our way (torch's eager plugin loading hidden)."""
    return rendezvous_module()


def params(torch_rendezvous: Any, backend: str, **config: Any) -> Any:
    return torch_rendezvous.RendezvousParameters(
        backend=backend, endpoint="localhost:0", run_id="bridge", min_nodes=1, max_nodes=1, **config
    )


def test_torch_gets_plugin_handlers_from_the_container_lazily(
    install: Callable[..., None], events: Events, torch_rendezvous: Any
) -> None:
    install("rdzv-good", "rdzv-boom")
    container = RendezvousContainer()
    registry = torch_rendezvous.rendezvous_handler_registry
    with install_(container) as installation:
        assert {"good", "boom"} <= set(installation.names)
        assert events.lines() == []  # registering does not import a plugin
        handler = torch_rendezvous.registry.get_rendezvous_handler(params(torch_rendezvous, "good"))
        assert type(handler).__module__ == "rdzv_good"
        assert events.lines() == ["import good", "getter good"]
    assert "good" not in registry._registry
    assert "boom" not in registry._registry
    assert events.count("import boom") == 0


def install_(container: Any, names: list[str] | None = None) -> Any:
    return install(container, names)


def test_an_override_made_after_install_reaches_torch(
    install: Callable[..., None], events: Events, torch_rendezvous: Any
) -> None:
    install("rdzv-good")
    container = RendezvousContainer()
    seen: list[Any] = []

    class Recorded(torch_rendezvous.RendezvousHandler):  # type: ignore[misc]
        def __init__(self, params: Any) -> None:
            seen.append(params)

        get_backend = staticmethod(lambda: "good")
        next_rendezvous = is_closed = set_closed = num_nodes_waiting = None
        get_run_id = shutdown = None

    with install_(container, ["good"]):
        entry = container.backends.providers["good"]
        with entry.override(providers.Factory(Recorded)):
            handler = torch_rendezvous.registry.get_rendezvous_handler(
                params(torch_rendezvous, "good", flavour="x")
            )
        assert isinstance(handler, Recorded)
        assert seen[0].config == {"flavour": "x"}
    assert events.lines() == []  # the override answered: the plugin was never imported


def test_backends_registered_on_torchs_registry_appear_in_new_containers(
    torch_rendezvous: Any,
) -> None:
    registry = torch_rendezvous.rendezvous_handler_registry
    made: list[Any] = []

    def elsewhere(params: Any) -> Any:
        from torch.distributed.elastic.rendezvous.registry import _create_c10d_handler

        handler = _create_c10d_handler(params)
        made.append(handler)
        return handler

    registry.register("elsewhere", elsewhere)
    try:
        container = RendezvousContainer()
        container.environ.override({})
        assert "elsewhere" in container.backends.providers
        [info] = [i for i in describe_backends(container) if i.name == "elsewhere"]
        assert (info.source, info.status) == ("torch-registry", "available")
        assert "elsewhere" in info.summary
        container.config.from_dict(
            {"backend": "c10d", "endpoint": "localhost:0", "conf": {"join_timeout": 60}}
        )
        c10d_params = container.parameters()
        handler = container.backends.providers["elsewhere"](params=c10d_params)
        assert made == [handler]
        # install() leaves a foreign entry to its owner and still restores it afterwards.
        with install(container) as installation:
            assert "elsewhere" not in installation.names
            assert registry._registry["elsewhere"] is elsewhere
        assert registry._registry["elsewhere"] is elsewhere
    finally:
        registry._registry.pop("elsewhere", None)


def test_adopt_picks_up_registrations_made_after_the_container(torch_rendezvous: Any) -> None:
    registry = torch_rendezvous.rendezvous_handler_registry
    container = RendezvousContainer()

    def later(params: Any) -> Any:
        raise AssertionError("not called")

    assert "later" not in container.backends.providers
    registry.register("later", later)
    try:
        assert add_torch_registry_backends(container) == ["later"]
        assert "later" in container.backends.providers
        assert {"c10d", "etcd", "etcd-v2", "static"} <= set(container.backends.providers)
        assert add_torch_registry_backends(container) == []
    finally:
        registry._registry.pop("later", None)


def test_options_declared_by_a_creator_on_torchs_registry_are_honoured(
    torch_rendezvous: Any,
) -> None:
    registry = torch_rendezvous.rendezvous_handler_registry

    def declared(params: Any) -> Any:
        raise AssertionError("not called: only the settings are resolved")

    declared.rendezvous_options = {  # type: ignore[attr-defined]
        "depth": {"type": "int", "default": 1, "help": "how deep", "minimum": 1}
    }
    registry.register("declared", declared)
    try:
        container = RendezvousContainer()
        container.environ.override({})
        container.config.from_dict({"backend": "declared", "conf": {"depth": "4"}})
        assert container.settings().conf == {"depth": 4}
        [info] = [i for i in describe_backends(container) if i.name == "declared"]
        assert [o.name for o in info.options] == ["depth", "timeout"]
        container.config.conf.from_value({"dept": "4"})
        with pytest.raises(UnknownOptionError, match="did you mean 'depth'"):
            container.settings()
    finally:
        registry._registry.pop("declared", None)


class OddCreator:
    """A third-party creator whose declaration cannot even be read."""

    def __call__(self, params: Any) -> Any:
        raise AssertionError("not called")

    @property
    def rendezvous_options(self) -> Any:
        raise RuntimeError("options service down")


@pytest.mark.parametrize(
    ("creator", "problem"),
    [
        (OddCreator(), "reading rendezvous_options raised RuntimeError: options service down"),
        (
            type("Typo", (), {"rendezvous_options": {"depth": {"type": "integer"}}})(),
            "rendezvous_options['depth']['type'] is 'integer'",
        ),
    ],
)
def test_an_invalid_declaration_on_torchs_registry_is_refused_only_when_selected(
    torch_rendezvous: Any, creator: Any, problem: str
) -> None:
    registry = torch_rendezvous.rendezvous_handler_registry
    registry._registry["odd"] = creator
    try:
        container = RendezvousContainer()  # other backends stay usable
        container.environ.override({})
        [info] = [i for i in describe_backends(container) if i.name == "odd"]
        assert info.summary.endswith("(invalid options)")
        assert container.settings().backend == "c10d"
        container.config.from_dict({"backend": "odd"})
        with pytest.raises(ConfigError, match=re.escape(problem)) as caught:
            container.settings()
        assert caught.value.field == "backend"
    finally:
        registry._registry.pop("odd", None)


def test_uninstall_leaves_a_name_someone_re_registered_since(torch_rendezvous: Any) -> None:
    registry = torch_rendezvous.rendezvous_handler_registry
    container = RendezvousContainer()
    original = registry._registry["static"]

    def theirs(params: Any) -> Any:
        raise AssertionError("not called")

    installation = install(container, ["static"])
    registry._registry["static"] = theirs
    installation.uninstall()
    try:
        assert registry._registry["static"] is theirs
    finally:
        registry._registry["static"] = original


def test_override_builtins_reaches_torchs_own_lookup(
    install: Callable[..., None], events: Events, torch_rendezvous: Any
) -> None:
    install("rdzv-c10d")
    container = RendezvousContainer()
    container.environ.override({})
    container.config.from_dict({"plugins": {"override_builtins": ["c10d"]}})
    with install_(container, ["c10d"]):
        handler = torch_rendezvous.registry.get_rendezvous_handler(
            params(torch_rendezvous, "c10d", flavour="x")
        )
    assert type(handler).__module__ == "rdzv_c10d"
    assert handler.params.config == {"flavour": "x"}  # no built-in option schema
    assert events.lines() == ["import c10d", "getter c10d"]
