"""The progress count read from a real etcd server while a node waits for its peer."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest

from rendezvous_di import RendezvousContainer
from rendezvous_di.backends.builtin import BUILTIN_BACKENDS
from rendezvous_di.cli.progress import read_snapshot
from tests.support.etcd_server import EtcdServer

pytestmark = pytest.mark.slow

CONF = {
    "etcd-v2": {"join_timeout": 60, "last_call_timeout": 1, "keep_alive_interval": 1},
    "etcd": {"timeout": 60, "last_call_timeout": 1},
}


def node(etcd_server: EtcdServer, backend: str, run_id: str) -> Any:
    container = RendezvousContainer()
    container.environ.override({})
    container.config.from_dict(
        {
            "backend": backend,
            "endpoint": etcd_server.endpoint,
            "run_id": run_id,
            "nnodes": 2,
            "conf": CONF[backend],
        }
    )
    return container


@pytest.mark.parametrize("backend", ["etcd-v2", "etcd"])
def test_waiting_node_is_counted_then_both_meet(etcd_server: EtcdServer, backend: str) -> None:
    run_id = f"progress-{uuid.uuid4().hex[:8]}"
    first, second = node(etcd_server, backend, run_id), node(etcd_server, backend, run_id)
    try:
        waiting, watching = first.handler(), second.handler()
        progress = BUILTIN_BACKENDS[backend].progress
        assert read_snapshot(watching, progress).joined == 0
        results: list[Any] = []
        joiner = threading.Thread(target=lambda: results.append(waiting.next_rendezvous()))
        joiner.start()
        deadline = time.monotonic() + 60
        while (snapshot := read_snapshot(watching, progress)) is None or snapshot.joined < 1:
            assert time.monotonic() < deadline, f"never saw the waiting node: {snapshot}"
            time.sleep(0.1)
        assert snapshot.joined == 1
        info = watching.next_rendezvous()
        joiner.join(60)
        assert sorted([info.rank, results[0].rank]) == [0, 1]
        assert info.world_size == results[0].world_size == 2
    finally:
        first.shutdown_resources()
        second.shutdown_resources()
