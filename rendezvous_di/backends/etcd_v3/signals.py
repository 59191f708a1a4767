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

The listener watches one key at a time, on a connection of its own: the
ticket before its own until it is deleted, then the bell from the revision
at which the node started listening (so rings rung meanwhile are heard), and
opens a watch again (from the last revision seen) when etcd or the
connection ends it. Watching the whole ``events/`` prefix instead made every
turn's pass reach every node: at 256 simulated nodes the gateway fell behind
and the turnstile gave up.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from ..events.signals import Signals
from .client import (
    JSON,
    EtcdError,
    b64,
    compare,
    first_kv,
    get,
    prefix_end,
    put,
    range_response,
)
from .session import RunSession
from .watch import watch_events

WATCH_FOR = 300.0
"""Seconds one watch stream stays open before the listener opens the next."""


class EtcdSignals(Signals):
    """Rings and turns under the run's ``events/`` keys."""

    failures = (EtcdError,)
    """The client's errors: etcd unreachable (`EtcdConnectionError`) or refusing."""

    def __init__(self, session: RunSession) -> None:
        self._session = session
        self._client = session.client
        prefix = session.root + b"events/"
        self._prefix = prefix
        self._bell = prefix + b"bell"
        self._queue = prefix + b"turnstile/"
        self._tickets: dict[int, bytes] = {}
        self._ahead_at_ticket: dict[int, int] = {}
        # What the ticket's transaction read: the ticket ahead (None: none) and the state.
        self._at_ticket: dict[int, tuple[bytes | None, JSON | None]] = {}

    def ring(self) -> int:
        """See base class."""
        answer = self._session.leased(
            lambda lease: self._client.txn([], [put(self._bell, b"", lease)], [])
        )
        return int(answer["header"]["revision"])

    def take_ticket(self) -> int:
        """See base class: a key of this node's, its creation revision the ticket.

        The same transaction reads, when nobody is in line, the state the
        join reads (the node's turn has come already: it takes its turn and
        makes its join's read in one request); otherwise the ticket just
        before this one (the key to watch) and how many are ahead (the first
        `progress`). The state is read only where it is used.
        """
        lease = self._session.lease()
        key = self._queue + f"{lease:x}".encode()
        # Nobody in line (etcd compares an empty range as one key that does not exist):
        # the ticket and the state. Otherwise the ticket, and it and the one created just
        # before it (a range after a put in one transaction sees the put), whose count is
        # the whole queue, this ticket included.
        empty = {**compare(self._queue, "CREATE", 0), "range_end": b64(prefix_end(self._queue))}
        last_two: dict[str, Any] = {
            **self._queue_range(None),
            "limit": "2",
            "sort_order": "DESCEND",
            "sort_target": "CREATE",
            "keys_only": True,
        }
        answer = self._session.leased(
            lambda lease: self._client.txn(
                [empty],
                [put(key, b"", lease), get(self._session.state_key)],
                [put(key, b"", lease), {"request_range": last_two}],
            )
        )
        ticket = int(answer["header"]["revision"])
        self._tickets[ticket] = key
        self._session.delete_with_next_write(key)  # the join write passes the turn itself
        if answer.get("succeeded"):  # first in line: its turn has come, with the state
            self._ahead_at_ticket[ticket] = 0
            self._at_ticket[ticket] = (None, first_kv(range_response(answer, 1)))
        else:
            queue = range_response(answer, 1)
            kvs = queue.get("kvs") or []
            ahead = _key(kvs[1]) if len(kvs) > 1 else None
            self._ahead_at_ticket[ticket] = max(0, int(queue.get("count", 0)) - 1)
            if ahead is not None:  # else (never seen): the listener's turn check looks again
                self._at_ticket[ticket] = (ahead, None)
        return ticket

    def pass_turn(self, ticket: int) -> None:
        """See base class: delete this node's ticket key."""
        self._at_ticket.pop(ticket, None)
        key = self._tickets.pop(ticket, None)
        if key is not None and not self._session.deleted(key):
            self._client.delete(key)

    def skip_turn(self, ticket: int) -> None:
        """See base class: delete the ticket key created just before ``ticket``."""
        ahead = self._ahead(ticket)
        if ahead is not None:
            self._client.delete(ahead[0])

    def progress(self, ticket: int) -> int:
        """See base class: how many tickets are still ahead of ``ticket``."""
        if ticket in self._ahead_at_ticket:  # counted when the ticket was taken
            return self._ahead_at_ticket.pop(ticket)
        answer = self._client.call("kv/range", self._queue_range(ticket, count_only=True))
        return int(answer.get("count", 0))

    def position(self) -> int:
        """See base class: etcd's revision now."""
        return int(self._client.range(self._bell)["header"]["revision"])

    def position_at(self, ticket: int) -> int:
        """See base class: the ticket's revision (rings after it have higher ones)."""
        return ticket

    def listen(
        self,
        position: int,
        heard: Callable[[int], None],
        ticket: int | None,
        turn_came: Callable[[], None],
        stopped: Callable[[], bool],
    ) -> None:
        """See base class: the turn first (a watch on one key), then rings (a watch on one key).

        Each watch covers one key, never the whole ``events/`` prefix: a node
        hears the turn before its own, and the bell, not every other node's
        turn (with hundreds of nodes, every pass fanned out to every watcher
        would swamp etcd's gateway).
        """
        if ticket is not None:
            self._wait_for_turn(ticket, stopped)
            turn_came()
        revision = position
        while not self._session.released and not stopped():
            started = time.monotonic()
            try:
                with contextlib.closing(
                    watch_events(self._client, self._bell, None, revision + 1, WATCH_FOR)
                ) as events:
                    for _, value, changed in events:
                        revision = max(revision, changed)
                        if value is not None:
                            heard(changed)
                            if stopped():
                                return
                if time.monotonic() - started < WATCH_FOR / 2:
                    # Cancelled early (the revision was compacted): go on from now, and count
                    # it as a ring, since one may have been missed.
                    revision = self.position()
                    heard(-revision)
            except EtcdError:  # etcd restarting, a member lost: listen again in a second
                time.sleep(1.0)

    def _wait_for_turn(self, ticket: int, stopped: Callable[[], bool]) -> None:
        """Until no ticket created before ``ticket`` is left (each watched until deleted).

        The first look is the ticket's own transaction (`take_ticket`): the
        ticket ahead is watched from the ticket's revision on, so its deletion
        is heard however soon it came; each later look reads the queue and the
        state in one transaction.
        """
        first = self._at_ticket.pop(ticket, None)
        while not self._session.released and not stopped():
            try:
                if first is not None:  # the ticket's transaction looked already
                    key, state = first
                    first = None
                    ahead = None if key is None else (key, ticket)
                else:
                    ahead, state = self._ahead_and_state(ticket)
                if ahead is None:
                    self._session.prefetch(state)  # the join's read, made with the turn
                    return
                key, revision = ahead
                with contextlib.closing(
                    watch_events(self._client, key, None, revision + 1, WATCH_FOR)
                ) as events:
                    for _, value, _ in events:
                        if value is None:  # deleted: passed, skipped, or its lease ended
                            break
            except EtcdError:
                time.sleep(1.0)

    def _ahead(self, ticket: int) -> tuple[bytes, int] | None:
        """The ticket key created last before ``ticket`` and the revision read; None if none."""
        answer = self._client.call("kv/range", self._last_before(ticket))
        kv = first_kv(answer)
        return None if kv is None else (_key(kv), int(answer["header"]["revision"]))

    def _ahead_and_state(self, ticket: int) -> tuple[tuple[bytes, int] | None, JSON | None]:
        """`_ahead`, and the state's key-value (None when absent), in one transaction."""
        operations = [{"request_range": self._last_before(ticket)}, get(self._session.state_key)]
        answer = self._client.txn([], operations, [])
        kv = first_kv(range_response(answer, 0))
        ahead = None if kv is None else (_key(kv), int(answer["header"]["revision"]))
        return ahead, first_kv(range_response(answer, 1))

    def _last_before(self, ticket: int) -> dict[str, Any]:
        """A range of the ticket created last before ``ticket`` (its key only)."""
        body = self._queue_range(ticket)
        body.update(
            {"limit": "1", "sort_order": "DESCEND", "sort_target": "CREATE", "keys_only": True}
        )
        return body

    def _queue_range(self, ticket: int | None, *, count_only: bool = False) -> dict[str, Any]:
        """The queue's tickets (created before ``ticket``, if given)."""
        body: dict[str, Any] = {
            "key": b64(self._queue),
            "range_end": b64(prefix_end(self._queue)),
        }
        if ticket is not None:
            body["max_create_revision"] = str(ticket - 1)
        if count_only:
            body["count_only"] = True
        return body


def _key(kv: dict[str, Any]) -> bytes:
    from .client import unb64

    return unb64(kv.get("key"))
