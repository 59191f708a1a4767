"""A counting TCP proxy in front of a TCPStore: every request a c10d rendezvous makes.

TCPStore speaks a binary protocol of its own (torch's ``TCPStore.cpp`` and
``TCPStoreLibUvBackend.cpp``): a client sends a one-byte query type and its
fields (keys and values each a 64-bit length and the bytes, counters 64-bit
integers), and, being synchronous, reads the answer before it sends the next
query. So the proxy parses each client's stream into requests, knows from
each request what its answer looks like, and parses the answers in order:
that tells a compare-and-set that won (the store answers the new value) from
one that lost (it answers the value it kept). Bytes are counted both ways;
``bytes_read`` is what the store sent back.

A stream the parser does not understand (a query type torch adds later) is
still relayed; its connection is counted in bytes only, never guessed.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields

from .counting_proxy import Counts

# c10d::detail::QueryType
VALIDATE, SET, COMPARE_SET, GET, ADD, CHECK, WAIT, GETNUMKEYS, DELETE_KEY, APPEND = range(10)
MULTI_GET, MULTI_SET, CANCEL_WAIT, PING, QUEUE_PUSH, QUEUE_POP, QUEUE_LEN = range(10, 17)
WRITES = frozenset({SET, COMPARE_SET, ADD, DELETE_KEY, APPEND, MULTI_SET, QUEUE_PUSH})

_U64 = struct.Struct("=Q")


class Incomplete(Exception):
    """The buffer ends inside a message: wait for more bytes."""


class Unknown(Exception):
    """A query type this parser does not know."""


@dataclass(frozen=True)
class Request:
    """One parsed query: its type, its size on the wire, what it wrote, and its answer's shape."""

    query: int
    size: int
    body: int  # bytes of the values it carries (a write's payload)
    answer: str  # "" (none), "vector", "i64", "u8", "u32", "vectors:<n>"
    desired: bytes = b""  # a compare-and-set's new value
    key: bytes = b""  # the first key it names


class _Reader:
    def __init__(self, data: bytes | bytearray) -> None:
        self.data = data
        self.at = 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise Incomplete
        chunk = bytes(self.data[self.at : self.at + size])
        self.at += size
        return chunk

    def u64(self) -> int:
        value: int = _U64.unpack(self.take(8))[0]
        return value

    def blob(self) -> bytes:
        return self.take(self.u64())


def parse_request(data: bytes | bytearray) -> Request:
    """The first request in ``data``.

    Raises:
        Incomplete: ``data`` ends inside it.
        Unknown: its query type is not one of torch's.
    """
    r = _Reader(data)
    query = r.take(1)[0]
    body, answer, desired, key = 0, "", b"", b""
    if query in (VALIDATE, PING):
        r.take(4)
        answer = "u32" if query == PING else ""
    elif query in (SET, APPEND, QUEUE_PUSH):
        r.blob()
        body = len(r.blob())
    elif query == COMPARE_SET:
        key = r.blob()
        expected = r.blob()
        desired = r.blob()
        body, answer = len(expected) + len(desired), "vector"
    elif query in (GET, QUEUE_POP):
        key = r.blob()
        answer = "vector"
    elif query == ADD:
        r.blob()
        r.take(8)
        answer = "i64"
    elif query in (CHECK, WAIT):
        for _ in range(r.u64()):
            r.blob()
        answer = "u8"
    elif query in (GETNUMKEYS, CANCEL_WAIT):
        answer = "i64" if query == GETNUMKEYS else "u8"
    elif query in (DELETE_KEY, QUEUE_LEN):
        r.blob()
        answer = "i64"
    elif query == MULTI_GET:
        count = r.u64()
        for _ in range(count):
            r.blob()
        answer = f"vectors:{count}"
    elif query == MULTI_SET:
        for _ in range(r.u64()):
            r.blob()
            body += len(r.blob())
    else:
        raise Unknown(query)
    return Request(query, r.at, body, answer, desired, key)


def is_state_key(key: bytes) -> bool:
    """Whether ``key`` is torch's c10d rendezvous state: ``torch.rendezvous.<run id>``
    (the client puts ``/`` before every key); the bell, the turnstile and the store's keys
    for the workers all have a ``/`` of their own after it."""
    return key.startswith(b"/torch.rendezvous.") and b"/" not in key[1:]


def parse_answer(data: bytes | bytearray, shape: str) -> tuple[int, bytes]:
    """The size of the answer of ``shape`` at the start of ``data``, and its value (a vector's).

    Raises:
        Incomplete: ``data`` ends inside it.
    """
    r = _Reader(data)
    value = b""
    if shape == "vector":
        value = r.blob()
    elif shape.startswith("vectors:"):
        for _ in range(int(shape.split(":", 1)[1])):
            r.blob()
    else:
        r.take({"i64": 8, "u8": 1, "u32": 4}[shape])
    return r.at, value


class _Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts = Counts()

    def add(self, **more: int) -> None:
        with self._lock:
            c = self.counts
            self.counts = Counts(**{k: getattr(c, k) + more.get(k, 0) for k in _FIELDS})


_FIELDS = tuple(f.name for f in fields(Counts))


class _Connection:
    """One client's connection: two pumps, and the requests still waiting for their answers."""

    def __init__(self, client: socket.socket, upstream: socket.socket, counter: _Counter) -> None:
        self.client, self.upstream, self.counter = client, upstream, counter
        self.pending: deque[Request] = deque()
        self.parsed = True  # False once the stream is not understood: bytes only from then on
        self.lock = threading.Lock()

    def run(self) -> None:
        ups = threading.Thread(target=self._pump_requests, daemon=True)
        ups.start()
        self._pump_answers()
        ups.join()

    def _close(self) -> None:
        for sock in (self.client, self.upstream):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _pump_requests(self) -> None:
        buffer = bytearray()
        try:
            while chunk := self.client.recv(65536):
                self.counter.add(bytes_total=len(chunk))
                buffer += chunk
                while self.parsed and buffer:
                    try:
                        request = parse_request(buffer)
                    except Incomplete:
                        break
                    except Unknown:
                        self.parsed = False
                        break
                    del buffer[: request.size]
                    write = request.query in WRITES
                    with self.lock:
                        if request.answer:
                            self.pending.append(request)
                    self.counter.add(
                        requests=1,
                        writes=int(write),
                        write_body_bytes=request.body if write else 0,
                    )
                if not self.parsed:
                    buffer.clear()
                self.upstream.sendall(chunk)  # counted first: a snapshot after the answer sees it
        except OSError:
            pass
        self._close()

    def _pump_answers(self) -> None:
        buffer = bytearray()
        try:
            while chunk := self.upstream.recv(65536):
                self.counter.add(bytes_total=len(chunk), bytes_read=len(chunk))
                if self.parsed:  # a stream not understood is relayed, never buffered
                    buffer += chunk
                    self._match_answers(buffer)
                self.client.sendall(chunk)
        except OSError:
            pass
        self._close()

    def _match_answers(self, buffer: bytearray) -> None:
        while self.parsed and buffer:
            with self.lock:
                if not self.pending:
                    return
                request = self.pending[0]
            try:
                size, value = parse_answer(buffer, request.answer)
            except Incomplete:
                return
            del buffer[:size]
            with self.lock:
                self.pending.popleft()
            if request.query == COMPARE_SET and value != request.desired:
                self.counter.add(conflicts=1)
            if request.query in (GET, COMPARE_SET) and is_state_key(request.key):
                self.counter.add(state_reads=1)


class StoreCountingProxy:
    """``127.0.0.1:<port>`` forwarding to the TCPStore at ``upstream`` (host, port), counting."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self._counter = _Counter()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._connections: list[_Connection] = []

    @property
    def endpoint(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"{host}:{port}"

    def snapshot(self) -> Counts:
        return self._counter.counts

    def start(self) -> StoreCountingProxy:
        self._thread.start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._upstream)
            except OSError:
                client.close()
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = _Connection(client, upstream, self._counter)
            self._connections.append(connection)
            threading.Thread(target=connection.run, daemon=True).start()

    def stop(self) -> None:
        with suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self._listener.close()
        for connection in self._connections:
            connection._close()


@contextmanager
def store_counting_proxy(upstream: tuple[str, int]) -> Iterator[StoreCountingProxy]:
    proxy = StoreCountingProxy(upstream).start()
    try:
        yield proxy
    finally:
        proxy.stop()
