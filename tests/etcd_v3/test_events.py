"""Event-driven waiting on real etcd 3.4 and 3.5: one watch, tickets ordered by revision."""

from __future__ import annotations

import threading
import uuid
from typing import Any

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


def test_poll_is_torchs_waiting(etcd_v3_server: EtcdServer) -> None:
    from rendezvous_di.backends.etcd_v3.backend import EtcdV3RendezvousBackend

    group = containers(etcd_v3_server, 2, {"sync": "poll"})
    try:
        handlers = [c.handler() for c in group]
        for handler in handlers:
            assert "run" not in vars(handler._op_executor)
            assert type(handler._state_holder._backend) is EtcdV3RendezvousBackend
        assert meet(handlers) == [(0, 2), (1, 2)]
    finally:
        for container in group:
            container.shutdown_resources()
