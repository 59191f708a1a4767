"""Event-driven waiting's `Signals` in etcd: rings and turns as keys, heard through one watch.

Under the run's ``events/`` prefix:

- a ring puts ``events/bell``; its number is the put's revision, which the
  watch reports with the change;
- a ticket is a key of this node's own, ``events/turnstile/<lease>``, put
  with its lease: its number is its creation revision, so tickets are ordered
  by etcd itself (no counter to contend on), and a node's turn comes when the
  ticket created just before it is deleted, which the node holding it does
  when its join write is made (or its lease does, if it died). This is
  etcd's own queue recipe (its ``concurrency`` package's mutex waits the same
  way).

One watch stream over ``events/``, from the revision at which this node
started listening, carries both; the listener reads it on a connection of
its own and opens it again (from the last revision seen) when etcd or the
connection ends it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from ..events.signals import Signals
from .client import EtcdError, b64, first_kv, prefix_end, put
from .session import RunSession
from .watch import watch_events

WATCH_FOR = 300.0
"""Seconds one watch stream stays open before the listener opens the next."""


class EtcdSignals(Signals):
    """Rings and turns under the run's ``events/`` keys."""

    def __init__(self, session: RunSession) -> None:
        self._session = session
        self._client = session.client
        prefix = session.root + b"events/"
        self._prefix = prefix
        self._bell = prefix + b"bell"
        self._queue = prefix + b"turnstile/"
        self._tickets: dict[int, bytes] = {}

    def ring(self) -> int:
        """See base class."""
        answer = self._session.leased(
            lambda lease: self._client.txn([], [put(self._bell, b"", lease)], [])
        )
        return int(answer["header"]["revision"])

    def take_ticket(self) -> int:
        """See base class: a key of this node's, its creation revision the ticket."""
        lease = self._session.lease()
        key = self._queue + f"{lease:x}".encode()
        answer = self._session.leased(
            lambda lease: self._client.txn([], [put(key, b"", lease)], [])
        )
        ticket = int(answer["header"]["revision"])
        self._tickets[ticket] = key
        return ticket

    def pass_turn(self, ticket: int) -> None:
        """See base class: delete this node's ticket key."""
        key = self._tickets.pop(ticket, None)
        if key is not None:
            self._client.delete(key)

    def skip_turn(self, ticket: int) -> None:
        """See base class: delete the ticket key created just before ``ticket``."""
        ahead = self._ahead(ticket)
        if ahead is not None:
            self._client.delete(ahead)

    def progress(self, ticket: int) -> int:
        """See base class: how many tickets are still ahead of ``ticket``."""
        answer = self._client.call("kv/range", self._queue_range(ticket, count_only=True))
        return int(answer.get("count", 0))

    def position(self) -> int:
        """See base class: etcd's revision now."""
        return int(self._client.range(self._bell)["header"]["revision"])

    def listen(
        self,
        position: int,
        heard: Callable[[int], None],
        ticket: int | None,
        turn_came: Callable[[], None],
        stopped: Callable[[], bool],
    ) -> None:
        """See base class."""
        waiting_for = self._ahead(ticket) if ticket is not None else None
        if ticket is not None and waiting_for is None:
            turn_came()
        revision = position
        while not self._session.released and not stopped():
            started = time.monotonic()
            try:
                with contextlib.closing(
                    watch_events(
                        self._client,
                        self._prefix,
                        prefix_end(self._prefix),
                        revision + 1,
                        WATCH_FOR,
                    )
                ) as events:
                    for key, value, changed in events:
                        revision = max(revision, changed)
                        if key == self._bell and value is not None:
                            heard(changed)
                            if stopped():
                                return
                        elif key == waiting_for and value is None:
                            waiting_for = None
                            turn_came()
                if time.monotonic() - started < WATCH_FOR / 2:
                    # Cancelled early (the revision was compacted): go on from now, and count
                    # it as a ring, since one may have been missed.
                    revision = self.position()
                    heard(-revision)
            except EtcdError:  # etcd restarting, a member lost: listen again in a second
                time.sleep(1.0)

    def _ahead(self, ticket: int) -> bytes | None:
        """The ticket key created last before ``ticket``; None if there is none."""
        body = self._queue_range(ticket)
        body.update({"limit": "1", "sort_order": "DESCEND", "sort_target": "CREATE"})
        kv = first_kv(self._client.call("kv/range", body))
        return None if kv is None else _key(kv)

    def _queue_range(self, ticket: int, *, count_only: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "key": b64(self._queue),
            "range_end": b64(prefix_end(self._queue)),
            "max_create_revision": str(ticket - 1),
        }
        if count_only:
            body["count_only"] = True
        return body


def _key(kv: dict[str, Any]) -> bytes:
    from .client import unb64

    return unb64(kv.get("key"))
