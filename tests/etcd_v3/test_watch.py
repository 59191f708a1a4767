"""The store's blocking reads watch etcd (v3 gateway stream) instead of polling it.

Against real etcd 3.4 and 3.5 (v2 off). The request counts are spied on the
client, the boundary these tests are about: a wait costs one read and one
watch however long it lasts, and a value set meanwhile is seen from the
stream.
"""

from __future__ import annotations

import datetime
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_mock import MockerFixture

from tests.etcd_v3.conftest import start_server
from tests.support.etcd_server import EtcdServer

pytestmark = pytest.mark.slow


def _store(server: EtcdServer, run: str, retry_for: float = 0.0) -> Any:
    from rendezvous_di.backends.etcd_v3 import parse_endpoints
    from rendezvous_di.backends.etcd_v3.client import EtcdClient
    from rendezvous_di.backends.etcd_v3.session import RunSession
    from rendezvous_di.backends.etcd_v3.store import EtcdV3Store

    client = EtcdClient(parse_endpoints(server.endpoint), timeout=30)
    client.retry_for = retry_for
    store = EtcdV3Store(RunSession(client, "/tests", run, 60))
    store.set_timeout(datetime.timedelta(seconds=60))
    return store


@pytest.fixture
def make_store(etcd_v3_server: EtcdServer) -> Iterator[Callable[[], Any]]:
    run = uuid.uuid4().hex[:8]
    stores: list[Any] = []

    def make() -> Any:
        stores.append(_store(etcd_v3_server, run))
        return stores[-1]

    yield make
    stores[0]._client.delete(b"/tests/", prefix=True)
    for store in stores:
        store._client.close()


def _later(seconds: float, action: Callable[[], object]) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def test_a_wait_is_one_read_and_one_watch_however_long(
    make_store: Callable[[], Any], mocker: MockerFixture
) -> None:
    waiter, writer = make_store(), make_store()
    waiter.set("warm", "up")  # the lease is granted: later requests are the wait's own
    txns = mocker.spy(waiter._client, "txn")
    streams = mocker.spy(waiter._client, "stream")
    timer = _later(1.5, lambda: writer.set("late", b"\x00value"))
    try:
        assert waiter.get("late") == b"\x00value"
    finally:
        timer.join()
    # polling every 10 to 200 ms made about a dozen reads in 1.5 s
    assert txns.call_count == 1
    assert streams.call_count == 1


def test_a_key_already_set_is_read_without_a_watch(
    make_store: Callable[[], Any], mocker: MockerFixture
) -> None:
    store = make_store()
    store.set("here", "now")
    streams = mocker.spy(store._client, "stream")
    assert store.get("here") == b"now"
    assert store.multi_get(["here"]) == [b"now"]
    assert streams.call_count == 0


def test_multi_get_follows_sets_and_deletes_until_every_key_is_there(
    make_store: Callable[[], Any],
) -> None:
    waiter, writer = make_store(), make_store()
    writer.set("a", "first")

    def script() -> None:
        writer.set("unrelated", "x")  # wakes the prefix watch, is not waited for
        writer.delete_key("a")
        time.sleep(0.2)
        writer.set("b", "bee")
        time.sleep(0.2)
        writer.set("a", "second")

    timer = _later(0.3, script)
    try:
        assert waiter.multi_get(["a", "b"]) == [b"second", b"bee"]
    finally:
        timer.join()


def test_through_prefix_store_a_rank_waits_for_rank_zero(make_store: Callable[[], Any]) -> None:
    """What ``RendezvousStoreInfo.build`` does after each round: rank 0 sets, the rest get."""
    from torch.distributed import PrefixStore

    rank0, rank1 = PrefixStore("rdzv/1", make_store()), PrefixStore("rdzv/1", make_store())
    timer = _later(0.5, lambda: rank0.set("MASTER_ADDR", "10.0.0.1"))
    try:
        assert rank1.get("MASTER_ADDR") == b"10.0.0.1"
    finally:
        timer.join()


def test_a_wait_outlives_etcd_restarting_with_its_data(
    mocker: MockerFixture,
) -> None:
    server = start_server("3.5")
    run = uuid.uuid4().hex[:8]
    waiter, writer = _store(server, run, retry_for=30), _store(server, run, retry_for=30)
    try:
        waiter.set("warm", "up")
        streams = mocker.spy(waiter._client, "stream")
        answer: list[bytes] = []
        thread = threading.Thread(target=lambda: answer.append(waiter.get("late")))
        thread.start()
        deadline = time.monotonic() + 60
        while streams.call_count == 0:  # the waiter is watching
            assert time.monotonic() < deadline, "the waiter never opened a watch"
            assert thread.is_alive(), f"the waiter returned without watching: {answer}"
            time.sleep(0.05)
        server.restart()
        writer.set("late", "after the restart")
        thread.join(timeout=90)
        assert answer == [b"after the restart"]
        assert streams.call_count >= 2  # the broken watch was opened again
    finally:
        server.stop()
        waiter._client.close()
        writer._client.close()


def test_a_wait_for_a_key_never_set_times_out_with_lookup_error(
    make_store: Callable[[], Any],
) -> None:
    store = make_store()
    with pytest.raises(LookupError):
        store.wait(["never"], datetime.timedelta(seconds=0.5))
    store.set_timeout(datetime.timedelta(seconds=0.5))
    with pytest.raises(LookupError):
        store.get("never")
