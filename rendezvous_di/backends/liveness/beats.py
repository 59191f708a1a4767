"""Where each node's heartbeat lives when it is not in the shared state.

A `Beats` writes one node's beat (a time, epoch seconds) and reads the beats
of the nodes a state names. A beat is a few dozen bytes, where torch's
keep-alive rewrites the whole state, every node's entry included: the
store's steady write load grows with the number of nodes, not its square.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

GONE = 0.0
"""A beat that says the node is gone (the store knows: etcd ended its lease).

The epoch: older than any expiry, so torch's holder drops the node at its next read.
"""


class Beats(ABC):
    """One run's heartbeat keys in a store."""

    lasting: bool = True
    """Whether a beat read stays true (a time: c10d) or holds only when read ("alive
    now": etcd's leases); `merging.Merger` asks about lasting beats only as they age."""

    @abstractmethod
    def beat(self, name: str, at: float) -> None:
        """Record that node ``name`` was alive at ``at`` (epoch seconds)."""

    def ensure(self, name: str) -> None:
        """Make sure node ``name`` has its key before it writes itself into the state.

        Asked once per node, at its first read (off the turnstile's path): a beat
        of now, unless the store has a cheaper way (etcd's keys ride on the write).
        """
        self.beat(name, time.time())

    def watch_gone(self, gone: Callable[[str], None]) -> None:
        """From now on, call ``gone(name)`` (on a thread of the store's) whenever the store
        finds node ``name`` gone, where it can tell (etcd: a lease that ended); until
        `close`. A store that cannot tell (c10d) ignores it."""
        del gone

    def close(self) -> None:
        """Stop watching (the handler shut down); nothing to stop where nothing watches."""
        return None

    @abstractmethod
    def read(self, names: Sequence[str]) -> Mapping[str, float]:
        """The beats of ``names`` that the store holds (a node without one is left out);
        `GONE` for a node the store knows is gone."""


class StoreBeats(Beats):
    """Beats in a c10d store: one key per node, ``<key>/beats/<node>``.

    A store's ``get`` and ``multi_get`` wait for keys that do not exist, so a
    read first asks whether every key exists (``check``, one request) and
    reads them all at once only then; a state naming a node without a key
    (a node on plain torchrun, which beats in the state) reads none. Keys are
    never deleted while the run lasts: a node reading a state that still names
    a removed node would wait on its key. There is one per node process that
    ever joined, a few dozen bytes each.
    """

    def __init__(self, store: Any, key: str) -> None:
        self._store = store
        self._prefix = f"{key}/beats/"

    def beat(self, name: str, at: float) -> None:
        """See base class."""
        self._store.set(self._prefix + name, repr(at).encode())

    def read(self, names: Sequence[str]) -> dict[str, float]:
        """See base class: all of them, or none when one has no key."""
        if not names:
            return {}
        keys = [self._prefix + name for name in names]
        if not self._store.check(keys):
            return {}
        values = self._store.multi_get(keys)
        return {name: float(value) for name, value in zip(names, values, strict=True)}
