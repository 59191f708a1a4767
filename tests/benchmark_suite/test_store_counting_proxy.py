"""The TCPStore counting proxy, in front of a real TCPStore, with torch's own client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import torch.distributed as dist

from benchmarks.store_counting_proxy import (
    COMPARE_SET,
    Incomplete,
    StoreCountingProxy,
    is_state_key,
    parse_request,
    store_counting_proxy,
)


@contextmanager
def proxied_client() -> Iterator[tuple[StoreCountingProxy, Any]]:
    """A real TCPStore, the counting proxy in front of it, and torch's client of the proxy."""
    server = dist.TCPStore(  # type: ignore[attr-defined]
        "127.0.0.1", 0, is_master=True, wait_for_workers=False, timeout=timedelta(seconds=30)
    )
    with store_counting_proxy(("127.0.0.1", server.port)) as proxy:
        host, port = proxy.endpoint.split(":")
        client = dist.TCPStore(  # type: ignore[attr-defined]
            host, int(port), is_master=False, timeout=timedelta(seconds=30)
        )
        yield proxy, client
        del client
    del server


def test_torchs_client_through_the_proxy_is_counted_request_by_request() -> None:
    with proxied_client() as (proxy, client):
        start = proxy.snapshot()
        client.set("state", b"x" * 100)  # a write of 100 bytes
        assert client.compare_set("state", b"x" * 100, b"y" * 10) == b"y" * 10  # won
        assert client.compare_set("state", b"x" * 100, b"z" * 10) == b"y" * 10  # lost
        assert client.get("state") == b"y" * 10  # torch's get: a wait, then the get
        assert client.add("counter", 2) == 2
        assert client.check(["state"])
        counts = proxy.snapshot() - start
        assert counts.requests == 7
        assert counts.writes == 4  # set, two compare-and-sets, add
        assert counts.write_body_bytes == 100 + (100 + 10) * 2
        assert counts.conflicts == 1
        # Answers: 2 vectors of 10 (CAS), 1 of 10 (get), the wait's and check's byte, the
        # counter: every vector with its 8-byte length.
        assert counts.bytes_read == 3 * (8 + 10) + 1 + 1 + 8


def test_reads_of_the_rendezvous_state_key_are_counted_apart() -> None:
    with proxied_client() as (proxy, client):
        state = "torch.rendezvous.run"
        start = proxy.snapshot()
        assert client.compare_set(state, "", b"s1") == b"s1"
        assert client.get(state) == b"s1"
        client.set(state + "/bell/1", b"")  # the event keys and the workers' keys are not
        assert client.get(state + "/bell/1") == b""
        assert client.add(state + "/bell", 1) == 1
        client.set("torch.rendezvous.run.0/MASTER_ADDR", b"host")
        assert client.get("torch.rendezvous.run.0/MASTER_ADDR") == b"host"
        counts = proxy.snapshot() - start
        assert counts.state_reads == 2
    assert is_state_key(b"/torch.rendezvous.run")
    assert not is_state_key(b"/torch.rendezvous.run/bell")
    assert not is_state_key(b"/torch.rendezvous.run.0/MASTER_ADDR")
    assert not is_state_key(b"/other")


@pytest.mark.parametrize("cut", [1, 9, 20, 39])
def test_a_request_split_anywhere_waits_for_the_rest(cut: int) -> None:
    import struct

    def blob(data: bytes) -> bytes:
        return struct.pack("=Q", len(data)) + data

    message = bytes([COMPARE_SET]) + blob(b"key") + blob(b"old") + blob(b"new-value")
    with pytest.raises(Incomplete):
        parse_request(message[:cut])
    request = parse_request(message + b"\x03")  # the next request's first byte is left
    assert (request.size, request.desired, request.body) == (len(message), b"new-value", 12)
