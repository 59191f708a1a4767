"""The etcd-v3 Store against a real etcd: c10d's Store semantics, as torch's EtcdStore has them.

Also through torch's ``PrefixStore``, the way the rendezvous hands it to the agent.
"""

from __future__ import annotations

import datetime
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.etcd_server import EtcdServer

pytestmark = pytest.mark.slow


@pytest.fixture
def make_store(etcd_35: EtcdServer) -> Iterator[Callable[[], Any]]:
    """Stores of one run, each with its own client and lease (as on separate nodes)."""
    from rendezvous_di.backends.etcd_v3 import parse_endpoints
    from rendezvous_di.backends.etcd_v3.client import EtcdClient
    from rendezvous_di.backends.etcd_v3.session import RunSession
    from rendezvous_di.backends.etcd_v3.store import EtcdV3Store

    run = uuid.uuid4().hex[:8]
    clients: list[EtcdClient] = []

    def make() -> EtcdV3Store:
        client = EtcdClient(parse_endpoints(etcd_35.endpoint), timeout=30)
        clients.append(client)
        store = EtcdV3Store(RunSession(client, "/tests", run, 60))
        store.set_timeout(datetime.timedelta(seconds=30))
        return store

    yield make
    clients[0].delete(b"/tests/", prefix=True)
    for client in clients:
        client.close()


def test_set_get_check_delete_and_count(make_store: Callable[[], Any]) -> None:
    store, other = make_store(), make_store()
    store.set("text", "value")
    store.set("binary", b"\x00\xff")
    assert other.get("text") == b"value"
    assert other.get("binary") == b"\x00\xff"
    assert other.check(["text", "binary"]) is True
    assert other.check(["text", "absent"]) is False
    assert other.num_keys() == 2
    assert other.delete_key("text") is True
    assert other.delete_key("text") is False
    assert store.num_keys() == 1


def test_get_waits_for_a_key_set_later_and_times_out_with_lookup_error(
    make_store: Callable[[], Any],
) -> None:
    store, writer = make_store(), make_store()
    timer = threading.Timer(0.5, lambda: writer.set("late", "here"))
    timer.start()
    try:
        assert store.get("late") == b"here"
    finally:
        timer.join()
    store.set_timeout(datetime.timedelta(seconds=0.5))
    with pytest.raises(LookupError):
        store.get("never")
    with pytest.raises(LookupError):
        store.wait(["late", "never"], datetime.timedelta(seconds=0.3))
    store.wait(["late"])


def test_add_is_atomic_across_nodes(make_store: Callable[[], Any]) -> None:
    stores = [make_store() for _ in range(4)]
    assert stores[0].add("counter", 0) == 0
    results: list[int] = []

    def add_ten(store: Any) -> None:
        results.extend(store.add("counter", 1) for _ in range(10))

    threads = [threading.Thread(target=add_ten, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == list(range(1, 41))  # every increment seen exactly once
    assert stores[0].get("counter") == b"40"
    assert stores[1].add("counter", -40) == 0


def test_compare_set_follows_c10d(make_store: Callable[[], Any]) -> None:
    store = make_store()
    # absent and a non-empty expectation: nothing is set, the expectation comes back
    assert store.compare_set("k", "x", "y") == b"x"
    assert store.check(["k"]) is False
    # absent and an empty expectation: set
    assert store.compare_set("k", "", "first") == b"first"
    assert store.compare_set("k", "wrong", "second") == b"first"
    assert store.compare_set("k", "first", "second") == b"second"
    assert store.get("k") == b"second"


def test_multi_set_and_multi_get(make_store: Callable[[], Any]) -> None:
    store = make_store()
    store.multi_set(["a", "b"], ["1", b"2"])
    assert store.multi_get(["b", "a"]) == [b"2", b"1"]


def test_through_torch_prefix_store_as_the_agent_uses_it(make_store: Callable[[], Any]) -> None:
    from torch.distributed import PrefixStore

    base = make_store()
    store = PrefixStore("torch.rendezvous.run.0", base)
    store.set("MASTER_ADDR", "host")
    assert store.get("MASTER_ADDR") == b"host"
    assert store.add("members", 2) == 2
    assert store.multi_get(["MASTER_ADDR", "members"]) == [b"host", b"2"]
    assert base.get("torch.rendezvous.run.0/MASTER_ADDR") == b"host"
