"""One node's presence in one run: its lease, its marker key, and cleaning up after the run.

Every key this node writes (the rendezvous state, the store's keys) is put
under this node's lease, so a run that every node abandoned (killed, lost)
leaves nothing in etcd once the lease's TTL has passed. The lease is refreshed
whenever the node uses etcd and a third of the TTL has gone by.

The state hangs on the lease of the node that wrote it last, so every node
keeps that lease alive too, in the same request as its own (`state_lease`).
torch's nodes rewrite the state every ``keep_alive_interval``, which would keep
it on a live lease anyway; with heartbeats in keys of their own
(``heartbeats=keys``) nobody writes it while membership stays, and the last
writer may be gone: a node that left the round (its lease is no longer kept
alive by itself), or a dead one (whose lease the survivors keep until one of
them writes it out, which puts the state on that survivor's lease).

A clean finish leaves no key either: each node deletes its marker when its
handler shuts down, and the node that finds no marker left deletes the run's
whole prefix. Deleting the marker before counting means the last node to leave
always sees zero (two leaving at once may both delete: harmless). A node that
leaves while others stay does not revoke its lease, because the state it wrote
last may still hang on it; the others' next heartbeat re-attaches the state to
their own leases.

Round trips are what a rendezvous costs (every node's requests queue on one
key), so the session adds none of its own on the way in: the lease is granted
when the handler is created (which doubles as the check that etcd answers),
and the marker rides in the node's first transaction (`with_marker`), the
first read of the state; leaving is one transaction, plus the cleanup for the
last node out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from .client import (
    GRPC_NOT_FOUND,
    JSON,
    EtcdClient,
    EtcdError,
    b64,
    prefix_end,
    put,
    range_response,
)

T = TypeVar("T")

Put = tuple[bytes, int | Callable[[], int] | None]
"""A key a state write puts, and the lease it puts it on: None for the writer's, a function
for one asked for as the write is made."""

Riders = tuple[list[bytes], list[Put]]
"""What rides on a state write: keys it deletes, puts it makes."""


class RunSession:
    """The keys of one run under ``{key_prefix}/{run_id}/`` and this node's lease."""

    def __init__(self, client: EtcdClient, key_prefix: str, run_id: str, lease_ttl: int) -> None:
        self.client = client
        # A "/" in the run id would nest one run inside another ("a" and "a/b"), and the
        # last node of "a" would delete "a/b" with its prefix: quote it.
        quoted = run_id.replace("%", "%25").replace("/", "%2F")
        self.root = f"{key_prefix.rstrip('/')}/{quoted}/".encode()
        self.state_key = self.root + b"state"
        self.store_prefix = self.root + b"store/"
        self.nodes_prefix = self.root + b"nodes/"
        self.lease_ttl = lease_ttl
        self._lease: int | None = None
        self._refreshed = 0.0
        self._lock = threading.Lock()
        self._marked = False  # whether this lease's marker is in etcd
        self._riders: list[bytes] = []  # keys the next state write deletes (a passed turn)
        self._puts: list[Put] = []  # puts the next state write makes (heartbeat keys)
        self._rode: set[bytes] = set()
        self._prefetched: tuple[float, JSON | None] | None = None
        self.state_lease = 0  # the lease the state was on when this node last saw it
        self.released = False

    @property
    def marker_key(self) -> bytes:
        return self.nodes_prefix + f"{self._lease or 0:x}".encode()

    def lease(self) -> int:
        """This node's lease, granted on first use and refreshed when a third of it passed."""
        with self._lock:
            now = time.monotonic()
            if self._lease is None:
                self._grant()
            elif now - self._refreshed > self.lease_ttl / 3:
                state = self.state_lease
                leases = [self._lease] if state in (0, self._lease) else [self._lease, state]
                ttls = self.client.keep_alive_all(leases)
                if ttls[0] <= 0:
                    self._grant()  # expired (the node stalled longer than the TTL)
                if len(ttls) > 1 and ttls[1] <= 0 and self.state_lease == state:
                    self.state_lease = 0  # ended: the state went with it, or moved on
                self._refreshed = now
            assert self._lease is not None
            return self._lease

    def saw_state(self, kv: JSON | None, written_on: int = 0) -> None:
        """The state as read (its key-value), or ``written_on`` the lease this node's
        write just put it on: the lease to keep alive with this node's own."""
        self.state_lease = written_on or (int(kv.get("lease", 0) or 0) if kv else 0)

    def _grant(self) -> None:
        self._lease = self.client.grant(self.lease_ttl)
        self._refreshed = time.monotonic()
        self._marked = False  # a new lease, a new marker (the old one expires with its lease)

    def start(self) -> None:
        """Grant this node's lease now: the handler's first request, and its check that etcd
        answers (a wrong endpoint or a lost etcd fails creation, as torch's etcd-v2 does)."""
        self.lease()

    @property
    def needs_marker(self) -> bool:
        """Whether this node's marker has yet to ride in one of its transactions."""
        return not self._marked

    def with_marker(self, operations: list[JSON], lease: int) -> list[JSON]:
        """``operations`` plus this node's marker put, until a transaction carried it."""
        if self._marked:
            return operations
        return [*operations, put(self.marker_key, b"", lease)]

    def marked(self, lease: int) -> None:
        """A transaction from `with_marker` for ``lease`` went through: the marker is in etcd."""
        with self._lock:
            if lease == self._lease:
                self._marked = True

    # -- riding on the next state write, and the state read with the turn -----------------------

    def delete_with_next_write(self, key: bytes) -> None:
        """Have this node's next successful state write delete ``key`` in the same transaction.

        The turnstile's ticket: the join write then passes the turn itself, and the
        next node hears it one round trip sooner.
        """
        self._riders.append(key)

    def put_with_next_write(self, key: bytes, lease: int | Callable[[], int] | None = None) -> None:
        """Have this node's next successful state write put ``key`` (empty) too, on ``lease``
        (None: the lease that write uses, this node's; a function: the lease it gives
        when the write is made).

        A node's heartbeat keys: they land with its join, so nobody reads the
        state with the node in it and its keys missing.
        """
        self._puts.append((key, lease))

    def with_riders(self, operations: list[JSON], riders: Riders, lease: int) -> list[JSON]:
        """``operations`` plus ``riders`` (from `riders`: the deletes and puts waiting),
        the puts without a lease of their own on ``lease``."""
        keys, puts = riders
        return [
            *operations,
            *({"request_delete_range": {"key": b64(k)}} for k in keys),
            *(put(k, b"", _lease_of(own, lease)) for k, own in puts),
        ]

    def rode(self, riders: Riders) -> None:
        """A write carrying ``riders`` (as `riders` gave them) went through."""
        keys, puts = riders
        self._rode.update(keys)
        self._riders = [key for key in self._riders if key not in self._rode]
        self._puts = [put for put in self._puts if all(put is not made for made in puts)]

    @property
    def riders(self) -> Riders:
        """What waits for the next state write, now: keys to delete, puts to make."""
        return list(self._riders), list(self._puts)

    def deleted(self, key: bytes) -> bool:
        """Whether a state write deleted ``key`` already (forgetting it); else it rides no more."""
        if key in self._rode:
            self._rode.discard(key)
            return True
        self._riders = [k for k in self._riders if k != key]
        return False

    def prefetch(self, kv: JSON | None) -> None:
        """The state (its key-value, None when absent), read with the turn just now."""
        self._prefetched = (time.monotonic(), kv)

    def take_prefetched(self, fresh_for: float) -> tuple[bool, JSON | None]:
        """(True, the state's key-value) if one was read with the turn less than ``fresh_for``
        seconds ago, once; else (False, None)."""
        prefetched, self._prefetched = self._prefetched, None
        if prefetched is None or time.monotonic() - prefetched[0] > fresh_for:
            return False, None
        return True, prefetched[1]

    def leased(self, operation: Callable[[int], T]) -> T:
        """Run ``operation(lease)``; once more with a new lease if etcd no longer knows it."""
        lease = self.lease()
        try:
            return operation(lease)
        except EtcdError as error:
            if error.code != GRPC_NOT_FOUND or "lease" not in str(error):
                raise
        with self._lock:
            self._grant()
            renewed = self._lease
        assert renewed is not None
        return operation(renewed)

    def release(self) -> None:
        """Leave the run: delete this node's marker; the last node deletes the whole run.

        One transaction deletes the marker and counts the markers left; only the
        last node out pays for the cleanup (the prefix, then its lease).
        """
        if self.released or self._lease is None:
            self.released = True
            return
        self.released = True
        marker = self.marker_key
        answer = self.client.txn(
            [],
            [
                {"request_delete_range": {"key": b64(marker)}},
                {
                    "request_range": {
                        "key": b64(self.nodes_prefix),
                        "range_end": b64(prefix_end(self.nodes_prefix)),
                        "count_only": True,
                    }
                },
            ],
            [],
        )
        others = range_response(answer, 1)
        if int(others.get("count", 0)) == 0:
            self.client.delete(self.root, prefix=True)
            self.client.revoke(self._lease)


def _lease_of(own: int | Callable[[], int] | None, writer: int) -> int:
    if own is None:
        return writer
    return own if isinstance(own, int) else own()
