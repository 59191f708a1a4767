"""Plugins are discovered from metadata, imported only when selected, once, and fail clearly."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

from rendezvous_di import (
    BackendMismatchError,
    PluginHandlerError,
    PluginLoadError,
)
from tests.plugins.conftest import Events
from tests.support.plugin_dists import IMPORT_DELAY_ENV
from tests.support.procs import REPO, clean_environ

BROKEN = (
    "rdzv-boom",
    "rdzv-missing",
    "rdzv-exit",
    "rdzv-notcallable",
    "rdzv-wrongname",
    "rdzv-badcreator",
)


def test_every_entry_point_becomes_a_selector_entry_without_importing_it(
    install: Callable[..., None], events: Events, make_container: Callable[..., Any]
) -> None:
    install("rdzv-good", *BROKEN)
    container = make_container()
    names = set(container.backends.providers)
    builtins_and_ours = {"c10d", "etcd", "etcd-v2", "static", "etcd-v3"}
    assert names == {*builtins_and_ours, "good", *(d[5:] for d in BROKEN)}
    container.settings()
    container.parameters()
    assert events.lines() == []


def test_a_container_created_before_the_plugin_was_installed_does_not_see_it(
    install: Callable[..., None], make_container: Callable[..., Any]
) -> None:
    before = make_container()
    install("rdzv-good")
    assert "good" not in before.backends.providers
    assert "good" in make_container().backends.providers


def test_selected_plugin_gives_its_handler_with_the_containers_parameters(
    install: Callable[..., None], events: Events, make_container: Callable[..., Any]
) -> None:
    install("rdzv-good", *BROKEN)
    container = make_container(
        backend="good", endpoint="anything:1", run_id="job-1", nnodes="1:3", conf={"k": "v"}
    )
    handler = container.handler()
    assert type(handler).__module__ == "rdzv_good"
    assert handler.get_backend() == "good"
    params = handler.params
    assert (params.run_id, params.min_nodes, params.max_nodes) == ("job-1", 1, 3)
    assert params.config == {"k": "v"}  # a plugin's options are its own: passed through as given
    assert events.lines() == ["import good", "getter good"]


def test_a_plugin_is_loaded_once_per_process_across_containers(
    install: Callable[..., None], events: Events, make_container: Callable[..., Any]
) -> None:
    install("rdzv-good")
    first = make_container(backend="good").backends()
    second = make_container(backend="good").backends()
    assert first is not second
    assert events.lines() == ["import good", "getter good"]


def test_64_threads_cause_one_import_and_one_getter_call_and_all_get_a_handler(
    install: Callable[..., None],
    events: Events,
    make_container: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    install("rdzv-good")
    monkeypatch.setenv(IMPORT_DELAY_ENV, "0.3")  # a slow import keeps every thread racing it
    container = make_container(backend="good")
    container.settings()  # resolve the configuration first: the race is about the plugin
    start = threading.Barrier(64)
    handlers: list[Any] = []
    errors: list[BaseException] = []

    def resolve() -> None:
        start.wait()
        try:
            handlers.append(container.backends())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=resolve) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(handlers) == 64
    assert {h.get_backend() for h in handlers} == {"good"}
    assert len({id(h) for h in handlers}) == 64  # a Factory: one handler per resolution
    assert events.lines() == ["import good", "getter good"]


@pytest.mark.parametrize(
    ("backend", "dist", "version", "cause", "says"),
    [
        (
            "boom",
            "rdzv-boom",
            "0.3",
            RuntimeError,
            "failed to import: RuntimeError: boom on purpose",
        ),
        ("missing", "rdzv-missing", "0.1", ModuleNotFoundError, "rdzv_not_installed"),
        ("exit", "rdzv-exit", "0.2", SystemExit, "failed to import: SystemExit: 3"),
    ],
)
def test_a_failing_plugin_is_a_clear_error_chained_to_its_cause(
    install: Callable[..., None],
    events: Events,
    make_container: Callable[..., Any],
    backend: str,
    dist: str,
    version: str,
    cause: type[BaseException],
    says: str,
) -> None:
    install(dist)
    container = make_container(backend=backend)
    for _ in range(2):  # the failure is remembered: no second import attempt
        with pytest.raises(PluginLoadError) as caught:
            container.backends()
        error = caught.value
        assert (error.backend, error.distribution, error.version) == (backend, dist, version)
        assert f"'{backend}'" in str(error)
        assert f"'{dist}' {version}" in str(error)
        assert says in str(error)
        assert isinstance(error.__cause__, cause)
    assert events.count(f"import {backend}") == (0 if backend == "missing" else 1)


def test_a_getter_returning_a_non_callable_names_the_plugin(
    install: Callable[..., None], make_container: Callable[..., Any]
) -> None:
    install("rdzv-notcallable")
    with pytest.raises(PluginLoadError) as caught:
        make_container(backend="notcallable").backends()
    message = str(caught.value)
    assert "'notcallable'" in message
    assert "'rdzv-notcallable' 0.4" in message
    assert "getter returned 42 (int), which is not callable" in message


def test_a_handler_for_another_backend_is_an_error_naming_the_plugin(
    install: Callable[..., None], make_container: Callable[..., Any]
) -> None:
    install("rdzv-wrongname")
    with pytest.raises(BackendMismatchError) as caught:
        make_container(backend="wrongname").backends()
    message = str(caught.value)
    assert "'someone-else' does not match the requested backend 'wrongname'" in message
    assert "distribution 'rdzv-wrongname' 0.5" in message


def test_a_creator_raising_system_exit_is_contained_and_names_the_plugin(
    install: Callable[..., None], make_container: Callable[..., Any]
) -> None:
    install("rdzv-badcreator")
    with pytest.raises(PluginHandlerError) as caught:
        make_container(backend="badcreator").backends()
    error = caught.value
    assert (error.backend, error.distribution, error.version) == (
        "badcreator",
        "rdzv-badcreator",
        "0.6",
    )
    assert "raised SystemExit: 4" in str(error)
    assert isinstance(error.__cause__, SystemExit)


def test_broken_plugins_that_are_not_selected_cost_nothing(
    install: Callable[..., None], events: Events, make_container: Callable[..., Any]
) -> None:
    install(*BROKEN)
    container = make_container(backend="c10d", endpoint="localhost:0", conf={"join_timeout": 60})
    handler = container.handler()  # torch's real c10d handler, hosting its TCPStore
    assert type(handler).__name__ == "DynamicRendezvousHandler"
    assert handler.get_backend() == "c10d"
    assert events.lines() == []


DISCOVERY_COUNT = """\
import rendezvous_di.plugins.entry_points as installed

calls = []
real = installed.entry_points


def counting(group):
    calls.append(group)
    return real(group)


installed.entry_points = counting
import rendezvous_di.registry.listing
import rendezvous_di.container

print(calls.count("torchrun.handlers"))
rendezvous_di.container.RendezvousContainer()
rendezvous_di.container.RendezvousContainer()
print(calls.count("torchrun.handlers"))
"""


def test_discovery_happens_per_container_creation_never_at_import() -> None:
    done = subprocess.run(
        [sys.executable, "-c", DISCOVERY_COUNT],
        cwd=REPO,
        env=clean_environ(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["0", "2"]
