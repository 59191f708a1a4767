"""One handler per container however many threads ask at once; nothing hosted after shutdown."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
from dependency_injector import providers

from rendezvous_di import RendezvousContainer
from rendezvous_di.resource import ThreadSafeResource
from tests.support.procs import free_port

THREADS = 32


def all_at_once(call: Callable[[], Any], threads: int = THREADS) -> list[Any]:
    """``call()`` from ``threads`` threads released together; results (or errors) in a list."""
    barrier = threading.Barrier(threads)
    results: list[Any] = []
    lock = threading.Lock()

    def target() -> None:
        barrier.wait()
        try:
            value = call()
        except Exception as error:
            value = error
        with lock:
            results.append(value)

    workers = [threading.Thread(target=target) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert len(results) == threads
    return results


def accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(10)
        try:
            probe.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return False
    return True


def store_port(handler: Any) -> int:
    """The port of the TCPStore a c10d handler hosts (under torch's PrefixStore wrappers)."""
    store = handler._store  # the store torch hands the agent: the one it hosts
    while hasattr(store, "underlying_store"):
        store = store.underlying_store
    return int(store.port)


def test_the_handler_is_a_thread_safe_resource() -> None:
    assert isinstance(RendezvousContainer.handler, ThreadSafeResource)
    assert isinstance(RendezvousContainer.handler, providers.Resource)


def test_32_threads_get_one_handler_and_shutdown_frees_its_port(container: Any) -> None:
    port = free_port()
    container.config.from_dict({"endpoint": f"127.0.0.1:{port}", "run_id": "threads"})

    handlers = all_at_once(container.handler)

    assert not [h for h in handlers if isinstance(h, Exception)], handlers
    assert len({id(h) for h in handlers}) == 1
    assert store_port(handlers[0]) == port
    assert accepts(port)
    del handlers  # the caveat below: a reference kept by the caller keeps the store

    container.shutdown_resources()

    assert not accepts(port)
    with socket.socket() as server:  # free for the next job's store
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))


def test_a_handler_the_caller_still_holds_keeps_its_store_until_released(container: Any) -> None:
    """What the README states: torch's TCPStore has no close; its last reference closes it."""
    port = free_port()
    container.config.from_dict({"endpoint": f"127.0.0.1:{port}", "run_id": "held"})
    handler = container.handler()

    container.shutdown_resources()

    assert handler.is_closed()  # shut down: the rendezvous is closed...
    assert accepts(port)  # ...but the store it hosts lives as long as the handler object
    del handler
    assert not accepts(port)  # no garbage collection needed: reference counting frees it


def test_the_store_of_a_rendezvous_result_also_keeps_the_port_until_released(
    container: Any,
) -> None:
    port = free_port()
    container.config.from_dict({"endpoint": f"127.0.0.1:{port}", "run_id": "info"})
    info = container.handler().next_rendezvous()

    container.shutdown_resources()

    assert accepts(port)
    del info
    assert not accepts(port)


def test_an_override_in_the_selector_is_created_once_for_all_threads(container: Any) -> None:
    created: list[object] = []
    started = threading.Event()

    class Handler:
        def __init__(self) -> None:
            created.append(self)
            started.wait(0.2)  # widen the window in which a second thread could slip in

        def get_backend(self) -> str:
            return "c10d"

        def shutdown(self) -> bool:
            return True

    entry = container.backends.providers["c10d"]
    entry.override(providers.Factory(Handler))
    try:
        handlers = all_at_once(container.handler)
    finally:
        container.shutdown_resources()
        entry.reset_last_overriding()
    assert len(created) == 1
    assert {id(h) for h in handlers} == {id(created[0])}


def test_a_failed_creation_is_retried_by_the_next_caller(container: Any) -> None:
    attempts: list[int] = []

    class Handler:
        def __init__(self) -> None:
            attempts.append(1)
            if len(attempts) == 1:
                raise RuntimeError("store not up yet")

        def get_backend(self) -> str:
            return "c10d"

        def shutdown(self) -> bool:
            return True

    entry = container.backends.providers["c10d"]
    entry.override(providers.Factory(Handler))
    try:
        with pytest.raises(RuntimeError, match="store not up yet"):
            container.handler()
        assert container.handler() is container.handler()
    finally:
        container.shutdown_resources()
        entry.reset_last_overriding()
    assert len(attempts) == 2


def test_each_container_has_its_own_handler_and_lock() -> None:
    first, second = RendezvousContainer(), RendezvousContainer()
    assert first.handler is not second.handler
    assert first.handler._init_lock is not second.handler._init_lock  # type: ignore[attr-defined]


def test_the_testing_kits_handler_override_is_one_handler_for_all_threads(
    rendezvous_container: Any, rendezvous_override: Any
) -> None:
    created: list[object] = []

    class Handler:
        def shutdown(self) -> bool:
            return True

    def make() -> object:
        created.append(Handler())
        threading.Event().wait(0.2)  # a window for a second thread to slip in
        return created[-1]

    rendezvous_override.handler(providers.Factory(make))
    handlers = all_at_once(rendezvous_container.handler)
    assert len(created) == 1
    assert {id(h) for h in handlers} == {id(created[0])}
