"""Watching event-driven waiting from tests: a spy strategy, and nodes meeting in threads."""

from __future__ import annotations

import threading
from typing import Any

from rendezvous_di.backends.events.strategy import EventSync
from rendezvous_di.backends.events.waiting import Waiting

STRETCHED = 60.0


class Spy(EventSync):
    """Event-driven waiting whose waits last up to a minute and are recorded."""

    def __init__(self) -> None:
        self.waits: list[bool] = []
        self._lock = threading.Lock()

    def prepare(self, backend: Any, signals: Any) -> Any:
        prepared, finish = super().prepare(backend, signals)
        spy = self

        def finish_and_spy(handler: Any) -> None:
            finish(handler)
            waiting: Waiting = prepared_waiting[0]
            original = waiting.wait_for_others

            def wait_for_others(timeout: float) -> bool:
                del timeout
                rang = original(STRETCHED)
                with spy._lock:
                    spy.waits.append(rang)
                return rang

            waiting.wait_for_others = wait_for_others  # type: ignore[method-assign]

        prepared_waiting = [_waiting_of(prepared)]
        return prepared, finish_and_spy


def _waiting_of(backend: Any) -> Waiting:
    """The `Waiting` a ringing backend tells."""
    waiting = backend._waiting
    assert isinstance(waiting, Waiting)
    return waiting


def silence(handler: Any) -> None:
    """Make ``handler``'s node fall silent as a dead agent's does: torch's beats stop, and
    so does the loop that keeps its liveness lease alive (etcd-v3 with beats in keys)."""
    handler._stop_heartbeats()
    close = getattr(getattr(handler, "_etcd_beating", None), "close", None)
    if close is not None:
        close()


def meet(handlers: list[Any]) -> list[tuple[int, int]]:
    answers: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def join(handler: Any) -> None:
        try:
            info = handler.next_rendezvous()
            answers.append((info.rank, info.world_size))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=join, args=(h,)) for h in handlers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not errors, errors
    return sorted(answers)


def containers(
    backend: str, endpoint: str, run_id: str, count: int, conf: dict[str, Any]
) -> list[Any]:
    """``count`` containers of one ``count``-node rendezvous (each node its own container)."""
    from rendezvous_di import RendezvousContainer

    made = []
    for _ in range(count):
        container = RendezvousContainer()
        container.environ.override({})
        container.config.from_dict(
            {
                "backend": backend,
                "endpoint": endpoint,
                "run_id": run_id,
                "min_nodes": count,
                "max_nodes": count,
                "conf": conf,
            }
        )
        made.append(container)
    return made


def every_wait_rings(group: list[Any]) -> None:
    """``group`` (one rendezvous, a container a node) meets with the spy strategy; every
    node's every wait ended with a notification, never with torch's (stretched) bound."""
    from dependency_injector import providers

    spy = Spy()
    for container in group:
        container.sync.override(providers.Object(spy))
    count = len(group)
    try:
        assert meet([c.handler() for c in group]) == [(rank, count) for rank in range(count)]
    finally:
        for container in group:
            container.shutdown_resources()
    assert spy.waits, "nobody waited: the test proves nothing"
    assert all(spy.waits), f"a wait ran out instead of hearing a ring: {spy.waits}"


def c10d_containers(server: Any, count: int, conf: dict[str, Any], run_id: str) -> list[Any]:
    """``count`` c10d containers, every node a client of the TCPStore ``server``."""
    node_conf = {"is_host": False, "join_timeout": 120, **conf}
    return containers("c10d", f"127.0.0.1:{server.port}", run_id, count, node_conf)
