"""Heartbeats in etcd (`Beats`): a node is alive while a lease of its own lives.

Each node has a *liveness lease* whose TTL is torch's own expiry
(``keep_alive_interval x keep_alive_max_attempt``), granted with the handler,
and two keys under the run:

- ``alive/<node>`` on the liveness lease: etcd deletes it the moment the lease
  ends, so a node whose agent is gone is dead for every reader at once, not
  when its last time in the state grows old;
- ``members/<node>`` on the node's session lease (``lease_ttl``, the one its
  other keys hang on): says that this node keeps its beats in etcd, so a
  missing ``alive`` key means *gone*, not *a node that beats in the state*
  (one of torch's, or ``heartbeats=state``).

Both ride in the node's join write (`RunSession.put_with_next_write`): no
round trip is added on the way in, and no reader sees the node in the state
without its keys. A beat after that is one lease keep-alive: no write, no new
revision, no watch event, a few dozen bytes.

From its first steady beat on, the node watches ``alive/``: the watch keeps
the set of alive keys (so a read of the beats asks etcd nothing), and each
key it sees deleted is a node gone, which `liveness.dropping` writes out at
once. Without a watch (before the first steady beat, or while etcd is away),
a read of the beats is one key-only range over ``alive/``. A node the set
lacks is checked against both its keys in one read, so a set a moment behind
never makes a node that just joined gone.

A node whose liveness lease ended while it lived (it stalled longer than
torch's expiry) is dropped by the others, as torch would drop it; its next
beat grants a new lease and puts its keys again, and torch's handler then
finds itself outside the round, as it would.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence

from ..liveness.beats import GONE, Beats
from .client import EtcdError, b64, prefix_end, put, unb64
from .session import RunSession
from .watch import watch_events

log = logging.getLogger(__name__)

WATCH_FOR = 300.0
"""Seconds one watch stream on ``alive/`` stays open before the next one."""

LOOKUPS_PER_TXN = 64
"""The most operations `EtcdBeats` puts in one transaction: half etcd's default limit."""

SMALLEST_TTL = 2
"""etcd's smallest lease TTL with its default election timeout (it raises shorter ones)."""


def liveness_ttl(interval: float, attempts: int) -> int:
    """A liveness lease's TTL: torch's expiry, whole seconds, at least `SMALLEST_TTL`."""
    return max(SMALLEST_TTL, math.ceil(interval * attempts))


class EtcdBeats(Beats):
    """The run's ``alive/`` and ``members/`` keys, this node's liveness lease."""

    lasting = False  # "alive now": asked at every read

    def __init__(self, session: RunSession, ttl: int) -> None:
        self._session = session
        self._client = session.client
        self._ttl = ttl
        self._alive = session.root + b"alive/"
        self._members = session.root + b"members/"
        self._lock = threading.Lock()
        self._lease = self._client.grant(ttl)
        self._refreshed = time.monotonic()
        self._placed: str | None = None  # the node whose keys are in etcd (or riding)
        self._closed = False
        # The alive/ keys as the watch last saw them; None while no watch runs.
        self._view: frozenset[str] | None = None
        self._view_read = 0.0  # when the view was last read whole (monotonic seconds)
        self._view_revision = 0  # etcd's revision the view stands at
        self._stopped = threading.Event()  # set by `close`: the keeper ends

    def ensure(self, name: str) -> None:
        """See base class: the keys ride on the node's next state write (its join)."""
        with self._lock:
            self._place(name)

    def _place(self, name: str) -> None:
        if self._placed == name:
            return
        if self._placed is None:  # the node's first read: its lease is kept from now on
            _start_keeper(self)
        self._placed = name
        node = name.encode()
        self._session.put_with_next_write(self._alive + node, self._lease_for_write)
        self._session.put_with_next_write(self._members + node)

    def _lease_for_write(self) -> int:
        """The liveness lease, as the write that puts the node's time in the state is made.

        It must outlive that time by about torch's expiry. The keeper keeps it so; one
        it left due (a loaded host: its thread late) is refreshed here, and one that
        ended (the process was stopped longer than the TTL) is granted anew.
        """
        with self._lock:
            if self._due():
                self._refresh()
            return self._lease

    def beat(self, name: str, at: float) -> None:
        """See base class: the keys ride on the next write the first time; then a keep-alive,
        if the keeper left one due."""
        del at  # alive while the lease lives: etcd keeps the time
        with self._lock:
            if self._placed != name:
                self._place(name)
            elif self._due():
                self._keep(name)

    def _due(self) -> bool:
        """Whether a third of the TTL passed since the lease was last kept alive."""
        return self._wait() <= 0

    def _wait(self) -> float:
        """Seconds until the lease is due a keep-alive (a third of its TTL after the last)."""
        return self._refreshed + self._ttl / 3 - time.monotonic()

    def _keep(self, name: str) -> None:
        """Keep the liveness lease alive; if it had ended, put the node's keys again."""
        if self._closed or self._refresh():
            return  # closed: the node left, and its keys must not come back
        log.warning(
            "the liveness lease of %s had ended (this process stalled longer than %d s): "
            "the others drop it from the round",
            name,
            self._ttl,
        )
        # It had ended while this node lived: the others dropped the node. It is alive
        # again, as torch's node whose late beat lands, and its handler finds itself
        # outside the round, as torch's would.
        node = name.encode()
        alive = put(self._alive + node, b"", self._lease)
        self._session.leased(
            lambda lease: self._client.txn([], [alive, put(self._members + node, b"", lease)], [])
        )

    def _refresh(self) -> bool:
        """Keep the liveness lease alive (a beat); False when it had ended (a new one is
        granted)."""
        sent = time.monotonic()  # a request that failed leaves the lease due
        if self._client.keep_alive(self._lease) > 0:
            self._refreshed = sent
            return True
        self._lease = self._client.grant(self._ttl)
        self._refreshed = sent
        return False

    def watch_gone(self, gone: Callable[[str], None]) -> None:
        """See base class: a watch on ``alive/``; each deleted key is a node gone (its
        lease ended, or it left)."""
        thread = threading.Thread(
            target=self._watch, args=(gone,), name="rendezvous-di-beats", daemon=True
        )
        thread.start()

    def close(self) -> None:
        """See base class: the watch ends with its stream (the client closes it), the keeper
        at once."""
        with self._lock:  # a keep-alive under way finishes before the node leaves
            self._closed = True
        self._stopped.set()

    def keep_due(self) -> float:
        """The keeper's step: keep the leases alive that are due; seconds until the next
        step (a negative number once closed)."""
        with self._lock:
            if self._closed or self._session.released:
                return -1.0
            if self._placed is not None and self._due():
                self._keep(self._placed)
            wait = max(0.05, self._wait())
        # The session's lease too (the node's other keys, and the state's lease with it):
        # a request only when a third of `lease_ttl` passed without the node's reads
        # refreshing it, as torch's cadence and a long wait inside a round can leave it.
        self._session.lease()
        return wait

    def _watch(self, gone: Callable[[str], None]) -> None:
        """Keep `_view` (the alive/ keys) from a read and the watch after it; tell ``gone``
        of every key deleted. Reads use the view instead of a range while it is kept."""
        revision: int | None = None
        end = prefix_end(self._alive)
        try:
            while not self._closed and not self._session.released:
                try:
                    if revision is None:  # a fresh view: read, then watch from that read
                        revision = self._read_view()
                    started = time.monotonic()
                    with contextlib.closing(
                        watch_events(self._client, self._alive, end, revision + 1, WATCH_FOR)
                    ) as events:
                        for key, value, changed in events:
                            revision = max(revision, changed)
                            name = key[len(self._alive) :].decode(errors="replace")
                            with self._lock:
                                view = self._view or frozenset()
                                self._view = view - {name} if value is None else view | {name}
                                self._view_revision = revision
                            if value is None:
                                log.debug("%s: its alive key was deleted", name)
                                gone(name)
                            if self._closed:
                                return
                    if time.monotonic() - started < WATCH_FOR / 2:
                        revision = None  # cancelled (compacted): read the view again
                except EtcdError:  # etcd restarting, or the client closed at shutdown
                    revision, self._view = None, None  # reads range again meanwhile
                    time.sleep(1.0)
        finally:
            self._view = None

    def _read_view(self) -> int:
        """Read the alive/ keys into `_view`; the revision read at."""
        view, revision = self._read_alive()
        with self._lock:
            self._view, self._view_read, self._view_revision = view, time.monotonic(), revision
            return revision

    def read(self, names: Sequence[str]) -> Mapping[str, float]:
        """See base class: alive now, `GONE` (a member without its alive key), or left out.

        The alive/ keys as the watch keeps them (from the node's first steady
        beat on; checked against etcd every half lease, `_check_view`), else one
        key-only range over ``alive/``; only the names they lack (none while every
        node lives) are looked up among the members, in one transaction.
        """
        if not names:
            return {}
        alive = self._view  # kept by the watch: no request...
        if alive is None:
            alive, _ = self._read_alive()
        elif time.monotonic() - self._view_read > self._ttl / 2:
            # ...but never trusted longer than half a lease: a watch that stalls without
            # breaking would keep a dead node alive.
            alive = self._check_view(alive)
        now = time.time()
        found = {name: now for name in names if name in alive}
        missing = [name for name in names if name not in alive]
        if missing:
            # Both keys of each, in one read: a view a moment behind (a node that just
            # joined) must not make a live node gone.
            alive_now, members = self._look_up(missing)
            for name in missing:
                if name in alive_now:
                    found[name] = now
                elif name in members:
                    found[name] = GONE
        return found

    def _read_alive(self) -> tuple[frozenset[str], int]:
        """The alive/ keys, read whole (one key-only range), and the revision read at."""
        answer = self._client.call("kv/range", _keys_only(self._alive))
        return _names(answer, self._alive), int(answer["header"]["revision"])

    def _check_view(self, view: frozenset[str]) -> frozenset[str]:
        """``view`` checked against etcd, at the cost of what changed since, not of every key.

        One range over alive/ for the keys written after the view's revision: etcd
        answers those, and the count of every key there. A view that missed no
        deletion holds, with the newer keys, exactly that many; else (the watch fell
        behind) the keys are read whole. Either way the view is right again, and
        trusted for another half lease.
        """
        with self._lock:  # the view and its revision as one (the watch may move on)
            view, revision = self._view or view, self._view_revision
        body = {**_keys_only(self._alive), "min_mod_revision": str(revision + 1)}
        answer = self._client.call("kv/range", body)
        checked = view | {_name(kv, self._alive) for kv in answer.get("kvs") or []}
        read_at = int(answer["header"]["revision"])
        if int(answer.get("count", 0) or 0) != len(checked):
            checked, read_at = self._read_alive()
        with self._lock:  # a newer view (the watch moved on since) is kept
            if self._view is not None and read_at >= self._view_revision:
                self._view, self._view_read = checked, time.monotonic()
                self._view_revision = read_at
        return checked

    def _look_up(self, names: Sequence[str]) -> tuple[set[str], set[str]]:
        """Which of ``names`` have an alive key, and which a members key: one transaction.

        A count per key while that fits etcd's limit on a transaction's operations
        (``--max-txn-ops``, 128 by default); beyond it (many leases ended at once),
        both prefixes' keys.
        """
        if 2 * len(names) <= LOOKUPS_PER_TXN:
            keys = [(prefix, name) for name in names for prefix in (self._alive, self._members)]
            lookups = [_count(prefix + name.encode()) for prefix, name in keys]
            responses = self._client.txn([], lookups, []).get("responses", [])
            counts = [int((r.get("response_range") or {}).get("count", 0) or 0) for r in responses]
            found = [key for key, count in zip(keys, counts, strict=False) if count]
            return (
                {name for prefix, name in found if prefix == self._alive},
                {name for prefix, name in found if prefix == self._members},
            )
        ranges = [{"request_range": _keys_only(p)} for p in (self._alive, self._members)]
        responses = self._client.txn([], ranges, []).get("responses", [])
        alive, members = (
            set(_names(r.get("response_range") or {}, prefix))
            for r, prefix in zip(responses, (self._alive, self._members), strict=False)
        )
        return alive, members


def _start_keeper(beats: EtcdBeats) -> None:
    """Keep ``beats``' lease alive from a thread of its own until it closes.

    The thread holds it weakly: a handler dropped without its shutdown takes
    its lease's keep-alive with it (within a third of the TTL), not a thread
    that beats for a node nobody runs.
    """
    ref = weakref.ref(beats)
    stopped = beats._stopped

    def keep() -> None:
        wait = 0.0
        while not stopped.wait(wait):
            beats = ref()
            if beats is None:
                return
            try:
                wait = beats.keep_due()
            except EtcdError:  # etcd away: the join or the next read says so; try again soon
                wait = 1.0
            del beats
            if wait < 0:
                return

    threading.Thread(target=keep, name="rendezvous-di-keepalive", daemon=True).start()


def _keys_only(prefix: bytes) -> dict[str, object]:
    """A ``kv/range`` body: every key under ``prefix``, without values (a read, not a txn)."""
    return {"key": b64(prefix), "range_end": b64(prefix_end(prefix)), "keys_only": True}


def _names(answer: Mapping[str, object], prefix: bytes) -> frozenset[str]:
    """The node names of a range answer's keys under ``prefix``."""
    kvs = answer.get("kvs") or []
    assert isinstance(kvs, list)
    return frozenset(_name(kv, prefix) for kv in kvs)


def _count(key: bytes) -> dict[str, object]:
    return {"request_range": {"key": b64(key), "count_only": True}}


def _name(kv: Mapping[str, object], prefix: bytes) -> str:
    key = unb64(str(kv.get("key", "")))
    return key[len(prefix) :].decode(errors="replace")
