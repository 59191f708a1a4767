"""Is what listens at ``host:port`` a TCPStore? Ask it the way torch's own client does.

Accepting a connection proves only that something listens. torch's TCPStore
client, on connecting, sends a validation message (the query ``VALIDATE`` and
a magic number) then ``PING`` with a nonce, and expects the nonce back
(``TCPStore::validate`` and ``TCPStore::ping``, ``TCPStoreBackend.hpp``).
Against a listener that says nothing, torch's client waits forever
(measured with torch 2.13: ``read_timeout`` does not bound it). We send the
same two messages with plain sockets, so neither torch nor a handler is
needed, and read the answer within a timeout: a real store answers both of
its server implementations (libuv and the classic one) in milliseconds.

Both messages are what every client of a store sends first, so asking a
real store is harmless: it answers and sees the connection close.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from dataclasses import dataclass
from typing import Literal

VALIDATE = 0  # c10d::detail::QueryType::VALIDATE
PING = 13  # c10d::detail::QueryType::PING
MAGIC = 0x3C85F7CE  # c10d::detail::validationMagicNumber

Verdict = Literal["store", "not a store", "no connection"]


@dataclass(frozen=True)
class StoreAnswer:
    """What the listener at an address turned out to be, and in what words to say so."""

    verdict: Verdict
    detail: str

    @property
    def is_store(self) -> bool:
        return self.verdict == "store"


def greeting(nonce: int) -> bytes:
    """The bytes torch's client sends first: VALIDATE with the magic number, PING with a nonce.

    Integers go in the machine's byte order, as torch's ``SendBuffer`` copies them.
    """
    return struct.pack("=BIBI", VALIDATE, MAGIC, PING, nonce)


def ask_connected(
    sock: socket.socket, where: str, timeout: float, bound: str = "the timeout"
) -> StoreAnswer:
    """Greet the listener ``sock`` is connected to and judge its answer within ``timeout`` s.

    ``bound`` names where the timeout comes from (``read_timeout``, ``--timeout``).
    """
    nonce = (os.getpid() ^ int(time.monotonic_ns())) & 0xFFFFFFFF
    end = time.monotonic() + timeout
    received = b""
    try:
        sock.sendall(greeting(nonce))
        while len(received) < 4:
            sock.settimeout(max(end - time.monotonic(), 0.001))
            chunk = sock.recv(64)
            if not chunk:
                break
            received += chunk
    except TimeoutError:
        pass
    except OSError as error:
        return StoreAnswer(
            "not a store",
            f"{where} accepts connections but is not a TCPStore: the connection failed "
            f"when asked as a store ({error.strerror or error})",
        )
    if len(received) >= 4 and struct.unpack("=I", received[:4])[0] == nonce:
        return StoreAnswer("store", f"{where} answers as a TCPStore")
    if not received:
        silent = (
            "it closed the connection"
            if time.monotonic() < end
            else f"it did not answer within {_seconds(timeout)}s ({bound})"
        )
        return StoreAnswer(
            "not a store",
            f"{where} accepts connections but is not a TCPStore: {silent} "
            "when asked as a store (a TCPStore answers at once)",
        )
    return StoreAnswer(
        "not a store",
        f"{where} accepts connections but is not a TCPStore: it answered {_preview(received)} "
        "when asked as a store",
    )


def ask(host: str, port: int, timeout: float, bound: str = "the timeout") -> StoreAnswer:
    """Connect to ``host:port`` and ask (both within ``timeout`` s).

    ``no connection`` means nothing accepted the connection in time: a store
    that is not up yet, or a host that cannot be reached; torch's own client
    retries those until its ``read_timeout``, so callers leave them to it.
    """
    where = f"{host}:{port}"
    end = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as error:
        return StoreAnswer("no connection", f"cannot connect to {where}: {error.strerror or error}")
    with sock:
        return ask_connected(sock, where, max(end - time.monotonic(), 0.001), bound)


def _seconds(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _preview(data: bytes) -> str:
    """The first line of an answer, readable and short: ``'HTTP/1.1 400 Bad Request'``."""
    line = data.decode("latin-1").replace("\r", "\n").split("\n", 1)[0]
    printable = "".join(c if c.isprintable() else "." for c in line[:40])
    more = len(line) > 40 or len(line) < len(data.rstrip(b"\r\n"))
    return repr(printable + ("..." if more else ""))
