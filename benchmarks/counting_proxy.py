"""A counting HTTP proxy on loopback: every request a rendezvous backend makes to etcd.

Both etcd backends speak HTTP to etcd (torch's ``etcd-v2`` through python-etcd
and urllib3, ``etcd-v3`` through etcd's gRPC gateway), so one reverse proxy in
front of the server counts both alike: requests, writes, and the bytes they
carry, by phase (snapshots are taken between phases). It forwards one request
at a time per client connection and buffers each answer, except a streamed one
(etcd-v3's watch, chunked), which it relays line by line and counts as one
request; keep-alive connections stay open on both sides, as they would
without the proxy.
"""

from __future__ import annotations

import base64
import http.client
import json
import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Request paths that change etcd's data: v2 key writes are any method but GET on /v2/keys;
# v3 writes go through the gateway's txn, put and deleterange calls.
_V3_WRITES = ("/v3/kv/txn", "/v3/kv/put", "/v3/kv/deleterange")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def is_conflict(path: str, status: int, answer: bytes, body: bytes = b"") -> bool:
    """Whether a compare-and-set of the state lost its race: v2 answers 412, a v3 txn that
    compares the state key (``.../state``) answers ``succeeded`` false.

    A v3 txn with no compare succeeds always (``succeeded`` true); the gateway
    leaves a false ``succeeded`` out of its JSON. A txn whose compare is about
    other keys (etcd-v3's ticket asks whether the queue is empty) takes one
    branch or the other, and loses nothing.
    """
    path = path.split("?", 1)[0]
    if path.startswith("/v2/keys"):
        return status == 412
    if not path.startswith("/v3/kv/txn") or status != 200 or b'"succeeded":true' in answer:
        return False
    try:
        compares = json.loads(body or b"{}").get("compare") or []
    except ValueError:
        compares = []
    if not compares:  # no request to tell by (a txn without compares always succeeds)
        return True
    return any(base64.b64decode(c.get("key", "")).endswith(b"/state") for c in compares)


def is_state_read(path: str, answer: bytes) -> bool:
    """Whether an answer carries the rendezvous state: a v3 range or txn answer with the
    value of a ``.../state`` key (etcd-v3), or a v2 answer with the value of a key right
    under ``/torch/elastic/rendezvous/`` (torch's etcd-v2 backend keeps its state there)."""
    path = path.split("?", 1)[0]
    if path.startswith("/v2/keys/torch/elastic/rendezvous/"):
        if "/" in path.removeprefix("/v2/keys/torch/elastic/rendezvous/").strip("/"):
            return False
        with suppress(ValueError, AttributeError):
            return "value" in (json.loads(answer).get("node") or {})
        return False
    if not path.startswith(("/v3/kv/range", "/v3/kv/txn")) or b"kvs" not in answer:
        return False
    try:
        doc = json.loads(answer)
    except ValueError:
        return False
    ranges = [doc] + [r.get("response_range") or {} for r in doc.get("responses") or []]
    return any(
        "value" in kv and base64.b64decode(kv.get("key", "")).endswith(b"/state")
        for r in ranges
        for kv in r.get("kvs") or []
    )


def is_write(method: str, path: str) -> bool:
    """Whether a request to etcd writes (a v2 key change, a v3 txn/put/delete)."""
    path = path.split("?", 1)[0]
    if path.startswith("/v2/keys"):
        return method != "GET"
    return path.startswith(_V3_WRITES)


@dataclass(frozen=True)
class Counts:
    """What went through the proxy: requests, writes, bytes of write bodies, all bytes,
    compare-and-set writes that lost their race (conflicts), the bytes the store sent
    back (read by the agents), and the answers that carried the rendezvous state (state
    reads: what a polling node repeats every second)."""

    requests: int = 0
    writes: int = 0
    write_body_bytes: int = 0
    bytes_total: int = 0
    conflicts: int = 0
    bytes_read: int = 0
    state_reads: int = 0

    def __sub__(self, other: Counts) -> Counts:
        return Counts(
            self.requests - other.requests,
            self.writes - other.writes,
            self.write_body_bytes - other.write_body_bytes,
            self.bytes_total - other.bytes_total,
            self.conflicts - other.conflicts,
            self.bytes_read - other.bytes_read,
            self.state_reads - other.state_reads,
        )


class _Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = Counts()

    def record(
        self, method: str, path: str, sent: int, status: int, answer: bytes, body: bytes = b""
    ) -> None:
        write = is_write(method, path)
        conflict = is_conflict(path, status, answer, body)
        state = is_state_read(path, answer)
        with self._lock:
            c = self._counts
            self._counts = Counts(
                c.requests + 1,
                c.writes + int(write),
                c.write_body_bytes + (sent if write else 0),
                c.bytes_total + sent + len(answer),
                c.conflicts + int(conflict),
                c.bytes_read + len(answer),
                c.state_reads + int(state),
            )

    def snapshot(self) -> Counts:
        with self._lock:
            return self._counts


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 reset connections when 16 agents start at once
    upstream: tuple[str, int]
    counter: _Counter


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as etcd itself offers
    server: _Server
    _upstream: http.client.HTTPConnection | None = None

    def setup(self) -> None:
        """No Nagle delay: the handler writes an answer's headers and body in two sends,
        and with Nagle on, the second waits for the client's delayed ACK of the first
        (40 ms on Linux): every request through the proxy took 44 ms instead of 1 ms.
        (Its requests upstream are one send each: http.client joins a bytes body to the
        headers.)"""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        upstream = self._upstream
        if upstream is None:
            upstream = http.client.HTTPConnection(*self.server.upstream, timeout=60)
            self._upstream = upstream
        try:
            upstream.request(self.command, self.path, body, headers)
            response = upstream.getresponse()
            if response.chunked:  # a stream (etcd-v3's watch): relay it as it comes
                self._relay(upstream, response, length)
                return
            data = response.read()
        except OSError:
            upstream.close()
            self._upstream = None
            self.send_error(502)
            return
        self.server.counter.record(
            self.command, self.path, length, response.status, data, body or b""
        )
        self.send_response_only(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in _HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _relay(
        self, upstream: http.client.HTTPConnection, response: http.client.HTTPResponse, sent: int
    ) -> None:
        """Forward a streamed answer line by line (one request, counted when it ends).

        The client ends a watch by closing its connection, which this side sees
        only as end of input on it: a watcher thread then shuts the upstream
        socket, so that the blocked read returns and nothing lingers.
        """
        self._upstream = None  # this upstream connection belongs to the stream
        self.close_connection = True
        downstream = self.connection

        relaying = threading.Event()
        relaying.set()

        def end_with_client() -> None:
            with suppress(OSError, ValueError):  # the relay ended first and closed both
                while relaying.is_set():
                    if select.select([downstream], [], [], 0.2)[0]:
                        if relaying.is_set() and upstream.sock is not None:
                            upstream.sock.shutdown(socket.SHUT_RDWR)
                        return

        threading.Thread(target=end_with_client, daemon=True).start()
        self.send_response_only(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in _HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        relayed = b""
        try:
            while line := response.readline():
                relayed += line
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (OSError, http.client.HTTPException):
            pass  # the client closed the stream, as a watch that got its answer does
        finally:
            relaying.clear()
            upstream.close()
            self.server.counter.record(self.command, self.path, sent, response.status, relayed)

    do_GET = do_PUT = do_POST = do_DELETE = _forward

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the proxy counts requests, it does not log them."""


class CountingProxy:
    """``http://127.0.0.1:<port>`` forwarding to ``upstream`` (host, port), counting."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self._server = _Server(("127.0.0.1", 0), _Forward)
        self._server.upstream = upstream
        self._server.counter = _Counter()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def snapshot(self) -> Counts:
        return self._server.counter.snapshot()

    def start(self) -> CountingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def counting_proxy(upstream: tuple[str, int]) -> Iterator[CountingProxy]:
    proxy = CountingProxy(upstream).start()
    try:
        yield proxy
    finally:
        proxy.stop()
