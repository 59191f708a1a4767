"""Event-driven waiting on real etcd 3.4 and 3.5: one watch, tickets ordered by revision."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from pytest_mock import MockerFixture

from tests.support import events
from tests.support.etcd_server import EtcdServer, all_keys
from tests.support.events import meet

from .conftest import FAST


def containers(server: EtcdServer, count: int, conf: dict[str, Any]) -> list[Any]:
    run_id = f"events-{uuid.uuid4().hex[:8]}"
    return events.containers("etcd-v3", server.endpoint, run_id, count, {**FAST, **conf})


def test_every_wait_ends_with_a_notification(etcd_v3_server: EtcdServer) -> None:
    events.every_wait_rings(containers(etcd_v3_server, 4, {}))
    assert not any(t.name == "rendezvous-di-events" for t in threading.enumerate())
    assert all_keys(etcd_v3_server) == []  # events/ keys leave with the run


def test_poll_with_beats_in_the_state_is_torchs_waiting(etcd_v3_server: EtcdServer) -> None:
    from rendezvous_di.backends.etcd_v3.backend import EtcdV3RendezvousBackend

    group = containers(etcd_v3_server, 2, {"sync": "poll", "heartbeats": "state"})
    try:
        handlers = [c.handler() for c in group]
        for handler in handlers:
            assert "run" not in vars(handler._op_executor)
            assert type(handler._state_holder._backend) is EtcdV3RendezvousBackend
        assert meet(handlers) == [(0, 2), (1, 2)]
    finally:
        for container in group:
            container.shutdown_resources()


def test_the_turnstile_rides_on_the_rendezvous_requests(
    etcd_v3_server: EtcdServer, mocker: MockerFixture
) -> None:
    """The turnstile costs no request of its own on the way through:

    - a node's join write deletes its ticket in the same transaction;
    - each node's join uses a state read made with its turn: the first in line reads it
      with its ticket, every later one with its turn check.
    """
    from rendezvous_di.backends.etcd_v3.client import EtcdClient
    from rendezvous_di.backends.etcd_v3.session import RunSession
    from rendezvous_di.backends.etcd_v3.signals import EtcdSignals

    deletes = mocker.spy(EtcdClient, "delete")
    taken = mocker.spy(RunSession, "take_prefetched")
    turn_checks = mocker.spy(EtcdSignals, "_ahead_and_state")
    group = containers(etcd_v3_server, 4, {})
    try:
        assert meet([c.handler() for c in group]) == [(rank, 4) for rank in range(4)]
    finally:
        for container in group:
            container.shutdown_resources()
    tickets = [c for c in deletes.call_args_list if b"/events/turnstile/" in c.args[1]]
    assert tickets == []
    assert [found for found, _ in taken.spy_return_list].count(True) == 4
    assert turn_checks.call_count <= 3  # the first in line needs none
    assert all_keys(etcd_v3_server) == []
