"""A watch on etcd's v3 gateway: wait for keys to change instead of polling for them.

The store's blocking reads (``get``, ``wait``) read the keys once and, if one
is missing, watch from the revision of that read: the gateway streams each
change as one JSON line (``{"result": {"events": [...]}}``) on a connection
of its own, so a value set a millisecond later is seen a millisecond later,
with one request, where polling paid a request per poll and up to a poll's
interval of delay. This is what python-etcd's ``watch`` (a v2 long poll)
gives torch's ``EtcdStore``.

Watching from the read's revision + 1 means no change between the read and
the watch is missed. A watch that etcd cancels (the revision was compacted)
or that breaks (etcd restarting, a member lost) ends early; the store then
reads again, through the client's fail-over and retries.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Generator
from typing import Any

from .client import JSON, EtcdClient, EtcdError, b64, parse_answer, unb64

Change = tuple[bytes, bytes | None]
"""A key and its new value (None: deleted)."""

Event = tuple[bytes, bytes | None, int]
"""A key, its new value (None: deleted) and the revision of the change."""


def watch(
    client: EtcdClient, key: bytes, range_end: bytes | None, start_revision: int, timeout: float
) -> Generator[Change, None, None]:
    """Changes to ``key`` (to ``[key, range_end)`` with a range end) from ``start_revision``.

    As `watch_events`, without the revisions.
    """
    for changed, value, _ in watch_events(client, key, range_end, start_revision, timeout):
        yield changed, value


def watch_events(
    client: EtcdClient, key: bytes, range_end: bytes | None, start_revision: int, timeout: float
) -> Generator[Event, None, None]:
    """Changes to ``key`` (to ``[key, range_end)`` with a range end) from ``start_revision``.

    Ends, without an error, when ``timeout`` seconds have passed or etcd
    cancelled the watch; the caller reads the keys again in both cases.

    Raises:
        EtcdError: the watch could not be opened, or etcd answered an error.
    """
    request: JSON = {"key": b64(key), "start_revision": str(start_revision)}
    if range_end is not None:
        request["range_end"] = b64(range_end)
    deadline = time.monotonic() + timeout
    connection, response = client.stream("watch", {"create_request": request}, timeout)
    try:
        if response.status != 200:
            parse_answer("watch", response.status, response.read(4096))
            raise EtcdError(f"/v3/watch answered HTTP {response.status}", status=response.status)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or connection.sock is None:
                return
            connection.sock.settimeout(left)
            try:
                line = response.readline()
            except TimeoutError:
                return
            except (OSError, http.client.HTTPException) as error:
                raise EtcdError(f"the watch on {client.url} broke: {error}") from None
            if not line:
                return  # etcd closed the stream
            result = _result(line)
            if result.get("canceled") or result.get("compact_revision"):
                return
            for event in result.get("events") or []:
                kv = event.get("kv") or {}
                deleted = event.get("type") == "DELETE"
                revision = int(kv.get("mod_revision") or event.get("header", {}).get("revision", 0))
                if deleted:
                    revision = int(result.get("header", {}).get("revision", revision))
                yield unb64(kv.get("key")), None if deleted else unb64(kv.get("value")), revision
    finally:
        connection.close()


def _result(line: bytes) -> dict[str, Any]:
    """One streamed message's ``result``; an ``error`` message raises `EtcdError`."""
    try:
        message = json.loads(line)
    except ValueError:
        raise EtcdError(f"the watch answered a line that is not JSON: {line[:200]!r}") from None
    if not isinstance(message, dict) or "error" in message:
        parse_answer("watch", 500, line)  # raises, an auth error as EtcdAuthError
    result: dict[str, Any] = message.get("result") or {}
    return result
