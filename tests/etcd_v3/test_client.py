"""The v3 gateway client's own duties: fail-over past a member that cannot serve, and a
new token once etcd expired the old one (real etcd; a real HTTP server that answers 503)."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import pytest

from rendezvous_di.backends.etcd_v3 import parse_endpoints
from rendezvous_di.backends.etcd_v3.client import EtcdClient, EtcdConnectionError
from tests.support.etcd_server import EtcdServer, enable_auth
from tests.support.procs import free_port

from .conftest import start_server

pytestmark = pytest.mark.slow


class _Unavailable(http.server.BaseHTTPRequestHandler):
    """What an etcd member without a leader answers through the gateway."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"error":"etcdserver: no leader","code":14,"message":"etcdserver: no leader"}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def unavailable_member() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_member_without_a_leader_is_passed_over(
    etcd_35: EtcdServer, unavailable_member: str
) -> None:
    client = EtcdClient(parse_endpoints(f"{unavailable_member},{etcd_35.endpoint}"), timeout=30)
    try:
        assert client.range(b"/absent").get("kvs") is None
        assert client.url == etcd_35.url  # and stays there
    finally:
        client.close()


def test_every_member_unreachable_names_each_one() -> None:
    dead = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    client = EtcdClient(parse_endpoints(",".join(dead)), timeout=5)
    with pytest.raises(EtcdConnectionError) as caught:
        client.range(b"/k")
    for endpoint in dead:
        assert f"{endpoint}: Connection refused" in str(caught.value)


def test_an_expired_token_is_renewed() -> None:
    server = start_server("3.5", extra_args=["--auth-token-ttl", "2"])
    try:
        enable_auth(server, "root-secret")
        client = EtcdClient(
            parse_endpoints(server.endpoint), timeout=30, username="root", password="root-secret"
        )
        client.range(b"/k")
        first = client._token
        time.sleep(6)  # several token TTLs without a request: etcd forgets the token
        assert client.range(b"/k").get("count") in (None, "0")
        assert client._token is not None
        assert client._token != first
        client.close()
    finally:
        server.stop()


def test_threads_share_a_client_each_on_its_own_connection(etcd_35: EtcdServer) -> None:
    """The agent and torch's keep-alive thread use one client at once: neither waits for the
    other's request, and no answer lands in the other's hands."""
    from rendezvous_di.backends.etcd_v3.client import put, unb64

    client = EtcdClient(parse_endpoints(etcd_35.endpoint), timeout=30)
    failures: list[str] = []

    def work(name: str) -> None:
        for index in range(100):
            value = f"{name}-{index}".encode()
            client.txn([], [put(f"/threads/{name}".encode(), value)], [])
            kvs = client.range(f"/threads/{name}".encode()).get("kvs") or [{}]
            if unb64(kvs[0].get("value")) != value:
                failures.append(f"{name} read {kvs!r} for {value!r}")

    threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert len(client._opened) == 4  # one connection per thread
    client.delete(b"/threads/", prefix=True)
    client.close()
    assert client._opened == set()
