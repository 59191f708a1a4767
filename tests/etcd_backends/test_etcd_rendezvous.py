"""2- and 3-process rendezvous through the container on a real etcd server, both etcd backends."""

from __future__ import annotations

import uuid

import pytest

from tests.support.etcd_server import EtcdServer
from tests.support.rendezvous_node import run_nodes

pytestmark = pytest.mark.slow


# Small timeouts keep a broken run short; a healthy one never waits for them.
CONF = {
    "etcd-v2": {"join_timeout": 60, "last_call_timeout": 1, "keep_alive_interval": 1},
    "etcd": {"timeout": 60, "last_call_timeout": 1},
}


@pytest.mark.parametrize("backend", ["etcd-v2", "etcd"])
@pytest.mark.parametrize("count", [2, 3])
def test_processes_meet_through_real_etcd(
    etcd_server: EtcdServer, backend: str, count: int
) -> None:
    settings = {
        "backend": backend,
        "endpoint": etcd_server.endpoint,
        "run_id": f"{backend}-{count}-{uuid.uuid4().hex[:8]}",
        "nnodes": count,
        "conf": CONF[backend],
    }
    results = run_nodes(settings, count)
    assert [r["rank"] for r in results] == list(range(count))
    assert {r["world_size"] for r in results} == {count}
    assert {r["backend"] for r in results} == {backend}
    for result in results:
        assert result["heard"] == [r for r in range(count) if r != result["rank"]]
