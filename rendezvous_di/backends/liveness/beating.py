"""A rendezvous backend whose keep-alive writes go to a node's own key, not the state.

torch's keep-alive (``_RendezvousKeepAliveOp``) sets the node's time in
``last_heartbeats`` and writes the whole state with a compare-and-set, every
``keep_alive_interval``, on every node. Here:

- a write that changes nothing but the writer's own heartbeat is a beat: it
  goes to the node's key (`Beats`), and torch is told it succeeded, with the
  token it gave (the stored state did not change, so that token still
  matches the next real write);
- every other write goes to the store as torch made it, the node's key first,
  so a node that joins is never seen without one;
- every read merges the beats into ``last_heartbeats`` (`merging.Merger`), so
  torch's holder drops a silent node, keeps a live one, and beats on time
  exactly as it would with the times in the state.

torch's handler cannot tell: it reads the times it would have written, and
its compare-and-sets meet the same tokens. The shared state is rewritten
only when membership changes.

**Mixed jobs.** A node on plain torchrun beats in the state and reads only
the state. While the state names a node that has no key, this node's beats
go to the state as well (torch's way), so that node keeps seeing it alive;
the times it writes there are read by every node.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Any

from torch.distributed.elastic.rendezvous.dynamic_rendezvous import RendezvousBackend, Token

from .beats import Beats
from .dropping import Gone
from .merging import Merger, node_name, only_own_beat, own_beat


class BeatingBackend(RendezvousBackend):
    """``backend`` (any torch ``RendezvousBackend``) with heartbeats in ``beats``.

    ``node`` gives this handler's node (torch's ``_NodeDesc``) once the
    handler exists (the backend is made before it); until then every write
    goes to the state.
    """

    def __init__(self, backend: RendezvousBackend, beats: Beats) -> None:
        self._backend = backend
        self._beats = beats
        self._node: Callable[[], Any] = lambda: None
        self._seen: bytes | None = None  # the state as torch last got it (merged)
        self._all_keyed = False  # whether every node the state names had a key
        self._beat_at: float | None = None  # this node's last beat written to its key
        self._interval = 0.0  # torch's keep_alive_interval: no beat is due sooner
        self._merger = Merger(beats.read, 0.0)
        self._due = False  # the next read makes this node's own beat due (`beat_now`)
        self._gone: Gone = lambda name, seen, beat_now: None
        self._watching = False
        self._ensured: str | None = None  # the node whose key `Beats.ensure` made

    def attach(self, node: Callable[[], Any], interval: float, attempts: int) -> None:
        """This handler's node, asked for at each write, and its keep-alive settings."""
        self._node = node
        self._interval = interval
        # A lasting beat is asked about again one interval before torch's expiry.
        good_for = max(0.0, interval * (attempts - 1)) if self._beats.lasting else 0.0
        self._merger = Merger(self._beats.read, good_for)

    def on_gone(self, gone: Gone) -> None:
        """Call ``gone(name, the state last read, beat_now)`` when the store finds a node
        gone (`dropping.dropper`); the store is watched from this node's first beat on."""
        self._gone = gone

    def beat_now(self) -> None:
        """Make this node's own beat due at its next read, so that torch's keep-alive,
        run now, writes the state (a gone node with it)."""
        self._due = True

    def close(self) -> None:
        """The handler shut down: stop watching the store."""
        self._beats.close()

    @property
    def name(self) -> str:
        """See base class."""
        return self._backend.name

    def get_state(self) -> tuple[bytes, Token] | None:
        """See base class: the state with the beats merged in."""
        self._ensure()  # the node's first read, before its turn to join
        got = self._backend.get_state()
        if got is None:
            self._seen = None
            return None
        bits, token = got
        return self._merge(bits), token

    def set_state(
        self, state: bytes, token: Token | None = None
    ) -> tuple[bytes, Token, bool] | None:
        """See base class: a beat goes to the node's key; every other write to the state."""
        node = self._node()
        if node is not None:
            at = own_beat(state, node)
            if at is not None and at != self._beat_at:
                if token is not None and self._all_keyed and only_own_beat(self._seen, state, node):
                    self._beat(node, at)
                    self._seen = state
                    return state, token, True
                self._ensure()  # before the write: no node sees it without a key
                self._beat_at = at  # its own time, as the write puts it in the state
        answer = self._backend.set_state(state, token)
        if answer is None:
            self._seen = None
            return None
        bits, new_token, written = answer
        if written:
            self._seen = bits
            return answer
        return self._merge(bits), new_token, False

    def _ensure(self) -> None:
        """This node's key exists (asked of the store once)."""
        node = self._node()
        if node is None:
            return
        name = node_name(node)
        if self._ensured != name:
            self._beats.ensure(name)
            self._ensured = name

    def _beat(self, node: Any, at: float) -> None:
        self._beats.beat(node_name(node), at)
        if self._beat_at is not None and not self._watching:  # a steady beat: joined
            self._watching = True
            me = weakref.ref(self)  # the store's watch thread must not keep this alive
            self._beats.watch_gone(lambda name: _tell_gone(me, name))
        self._beat_at = at

    def _merge(self, bits: bytes) -> bytes:
        # A state whose every time is younger than one interval needs no beat: it was
        # written with all of them (a round forming), and reading the beats would put a
        # request on every read of the formation.
        node, at = self._node(), self._beat_at
        if at is not None and self._due:
            self._due = False
            at = time.time() - 2 * self._interval  # torch beats now: its time looks old
        own = None if node is None or at is None else (node_name(node), at)
        merge = self._merger.merge(bits, time.time() - self._interval, own)
        if merge is not None:
            bits, named, found = merge
            self._all_keyed = named > 0 and found == named
        self._seen = bits
        return bits


def _tell_gone(ref: weakref.ref[BeatingBackend], name: str) -> None:
    backend = ref()
    if backend is not None:
        backend._gone(name, backend._seen, backend.beat_now)
