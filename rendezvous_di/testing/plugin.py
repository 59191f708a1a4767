"""The pytest plugin: fixtures for testing code that uses rendezvous-di.

Registered under the ``pytest11`` entry point, so it is active in every test
session once rendezvous-di is installed. It therefore imports nothing heavy
(no torch, no dependency-injector) until a fixture is used.

Fixtures:
    rendezvous_container: a fresh ``RendezvousContainer`` for one test.
    fake_rendezvous_handler: a ``FakeRendezvousHandler`` serving the selected backend.
    rendezvous_override: override a backend or the handler; undone after the test.
    mock_rendezvous_handler: an autospec mock installed as the selected backend.

Markers: ``rendezvous_backend(name)``, ``rendezvous_config(**settings)``.
Option: ``--rendezvous-config FILE`` (ini ``rendezvous_config``).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from unittest.mock import NonCallableMagicMock

    from ..container import RendezvousContainer
    from .fake import FakeRendezvousHandler
    from .overrides import RendezvousOverride


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rendezvous-di")
    group.addoption(
        "--rendezvous-config",
        metavar="FILE",
        default=None,
        help="YAML settings file for the rendezvous_container fixture (lowest precedence)",
    )
    parser.addini(
        "rendezvous_config",
        "YAML settings file for the rendezvous_container fixture (relative to rootdir)",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "rendezvous_backend(name): the backend the rendezvous_container fixture selects",
    )
    config.addinivalue_line(
        "markers",
        "rendezvous_config(**settings): settings for the rendezvous_container fixture "
        "(backend, endpoint, run_id, nnodes, conf, plugins, ...)",
    )


def _config_file(config: pytest.Config) -> str | None:
    option: str | None = config.getoption("rendezvous_config")
    if option:
        return option
    ini = str(config.getini("rendezvous_config") or "")
    return str(config.rootpath / ini) if ini else None


def _marker_settings(node: pytest.Item) -> dict[str, Any]:
    """Settings from markers; a marker closer to the test wins over module/class ones."""
    settings: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers("rendezvous_config"))):
        if len(marker.args) > 1 or (marker.args and not isinstance(marker.args[0], dict)):
            raise pytest.UsageError(
                f"rendezvous_config takes keyword settings or one dict, got {marker.args!r}"
            )
        settings.update(marker.args[0] if marker.args else {})
        settings.update(marker.kwargs)
    backend = node.get_closest_marker("rendezvous_backend")
    if backend is not None:
        if len(backend.args) != 1 or not isinstance(backend.args[0], str):
            raise pytest.UsageError(
                f"rendezvous_backend takes one backend name, got {backend.args!r}"
            )
        settings["backend"] = backend.args[0]
    return settings


@pytest.fixture
def rendezvous_container(request: pytest.FixtureRequest) -> Iterator[RendezvousContainer]:
    """A fresh ``RendezvousContainer`` configured for tests, put back after the test.

    PET_* variables are ignored (``environ`` is overridden with ``{}``), plugin
    autoload is off unless ``rendezvous_config(plugins={"autoload": True})``
    asks for it, and the default endpoint is loopback (c10d on localhost:0).
    Markers and ``--rendezvous-config`` supply settings. After the test its
    resources are shut down, its modules unwired, every override undone and
    torch's registry restored, without ``reset_override()``.
    """
    from dependency_injector import providers

    from ..container import RendezvousContainer
    from .isolation import ContainerIsolation

    container = RendezvousContainer()
    container.environ.override(providers.Object({}))
    config_file = _config_file(request.config)
    if config_file:
        container.config_file.override(config_file)
    settings: dict[str, Any] = {"plugins": {"autoload": False}}
    for key, value in _marker_settings(request.node).items():
        if key == "plugins" and isinstance(value, dict):
            settings["plugins"].update(value)
        else:
            settings[key] = value
    container.config.from_dict(settings)
    isolation = ContainerIsolation(container, RendezvousContainer)
    yield container
    isolation.restore()


@pytest.fixture
def rendezvous_override(rendezvous_container: Any) -> Iterator[RendezvousOverride]:
    """Override a backend or the whole handler of ``rendezvous_container``.

    ``rendezvous_override(replacement, backend=None)`` replaces the selected
    (or named) backend inside the Selector; ``.handler(replacement)`` the whole
    handler; ``.install()`` puts the backends in torch's registry. Each returns
    a context manager; whatever is still active is undone after the test.
    A replacement is a handler instance, a handler class, a creator
    ``(params) -> handler`` or a provider.
    """
    from .overrides import RendezvousOverride

    override = RendezvousOverride(rendezvous_container)
    yield override
    override.undo_all()


@pytest.fixture
def fake_rendezvous_handler(rendezvous_container: Any) -> Iterator[FakeRendezvousHandler]:
    """A one-participant ``FakeRendezvousHandler`` for the container's backend and run id.

    Not installed: ``rendezvous_override(fake_rendezvous_handler)`` makes the
    container hand it out. Shut down after the test (waking anything waiting).
    """
    from .fake import FakeRendezvousHandler

    settings = rendezvous_container.settings()
    handler = FakeRendezvousHandler(backend=settings.backend, run_id=settings.run_id)
    yield handler
    if not handler.is_shut_down:
        handler.rendezvous.close()


@pytest.fixture
def mock_rendezvous_handler(
    request: pytest.FixtureRequest, rendezvous_container: Any, rendezvous_override: Any
) -> NonCallableMagicMock:
    """``create_autospec(RendezvousHandler, instance=True)`` installed as the selected backend.

    It answers like a one-node rendezvous: ``next_rendezvous()`` returns a real
    ``RendezvousInfo`` (rank 0, world size 1, a working in-memory store,
    bootstrap info on a free loopback port), ``get_backend()`` the selected
    backend, ``get_run_id()`` the run id, ``is_closed()`` False,
    ``num_nodes_waiting()`` 0, ``shutdown()`` True. Change any ``return_value``
    or ``side_effect`` to steer the code under test.
    """
    try:
        mocker = request.getfixturevalue("mocker")
    except pytest.FixtureLookupError:
        raise pytest.UsageError(
            "mock_rendezvous_handler needs pytest-mock: pip install 'rendezvous-di[test]' "
            "(or pytest-mock)"
        ) from None
    settings = rendezvous_container.settings()
    handler: NonCallableMagicMock = configure_mock_handler(
        mocker, settings.backend, settings.run_id
    )
    rendezvous_override(handler)
    return handler


def one_node_info() -> Any:
    """A real ``RendezvousInfo`` for rank 0 of 1 with an in-memory store."""
    from .._torch import rendezvous_module

    rdzv = rendezvous_module()
    from torch.distributed import HashStore, PrefixStore  # type: ignore[attr-defined]

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    store = PrefixStore("torch.rendezvous.mock.0", HashStore())
    return rdzv.RendezvousInfo(store, 0, 1, rdzv.RendezvousStoreInfo("127.0.0.1", port))


def configure_mock_handler(mocker: Any, backend: str, run_id: str) -> Any:
    """``mocker.create_autospec(RendezvousHandler, instance=True)`` with usable answers."""
    from .._torch import rendezvous_module

    handler = mocker.create_autospec(rendezvous_module().RendezvousHandler, instance=True)
    handler.get_backend.return_value = backend
    handler.get_run_id.return_value = run_id
    handler.next_rendezvous.return_value = one_node_info()
    handler.is_closed.return_value = False
    handler.num_nodes_waiting.return_value = 0
    handler.shutdown.return_value = True
    handler.use_agent_store = False
    return handler
