"""Plugin tests: real plugin distributions, installed per test by putting them on sys.path."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rendezvous_di.plugins import loader as plugins
from tests.support.plugin_dists import EVENTS_ENV, PROJECTS, build_and_install, modules_of


@pytest.fixture(scope="session")
def plugin_sites() -> Iterator[dict[str, Path]]:
    """Every test distribution, built once per session; the directory goes with the session."""
    with tempfile.TemporaryDirectory(prefix="rdzv-plugins-") as root:
        yield build_and_install(Path(root))


class Events:
    """What plugin modules reported: ``import <backend>`` and ``getter <backend>`` lines."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[str]:
        return self.path.read_text().splitlines() if self.path.exists() else []

    def count(self, line: str) -> int:
        return self.lines().count(line)


@pytest.fixture
def events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Events:
    path = tmp_path / "events.txt"
    monkeypatch.setenv(EVENTS_ENV, str(path))
    return Events(path)


@pytest.fixture
def install(
    plugin_sites: dict[str, Path], monkeypatch: pytest.MonkeyPatch, events: Events
) -> Callable[..., None]:
    """``install("rdzv-good", ...)``: those distributions are installed for this test only."""

    def install_(*dists: str) -> None:
        for dist in dists:
            monkeypatch.syspath_prepend(str(plugin_sites[dist]))

    return install_


@pytest.fixture
def pythonpath(plugin_sites: dict[str, Path]) -> Callable[..., dict[str, str]]:
    """Environment for a subprocess that has the given distributions installed."""

    def env(*dists: str, events: Events | None = None, **extra: str) -> dict[str, str]:
        paths = [str(plugin_sites[d]) for d in dists]
        variables = {"PYTHONPATH": os.pathsep.join(paths), **extra}
        if events is not None:
            variables[EVENTS_ENV] = str(events.path)
        return variables

    return env


@pytest.fixture(autouse=True)
def _forget_plugins() -> Iterator[None]:
    """Each test starts with no plugin loaded: undo the loads and imports it caused.

    Loaders are process-wide by design (one import per process); tests
    restore the loader table and drop the plugin modules they imported.
    """
    loaders = dict(plugins._loaders)
    yield
    with plugins._loaders_lock:
        plugins._loaders.clear()
        plugins._loaders.update(loaders)
    for dist in PROJECTS:
        for module in modules_of(dist):
            sys.modules.pop(module, None)


@pytest.fixture
def make_container() -> Iterator[Callable[..., Any]]:
    """Containers that ignore the real PET_* environment, shut down after the test."""
    made: list[Any] = []

    def make(environ: dict[str, str] | None = None, **config: Any) -> Any:
        from rendezvous_di import RendezvousContainer

        container = RendezvousContainer()
        container.environ.override(environ or {})
        if config:
            container.config.from_dict(config)
        made.append(container)
        return container

    yield make
    for container in made:
        container.shutdown_resources()
