"""torch's pickled rendezvous state, with heartbeats kept elsewhere merged in.

torch's state (``_RendezvousState``) holds ``last_heartbeats``, one time per
node, and torch's state holder drops a node whose time is older than
``keep_alive_interval x keep_alive_max_attempt``. When beats live in keys of
their own, a read of the state takes each node's newest time from either
place (`Merger`), so torch's handler decides who is alive exactly as it
would: it never sees where a time came from.

A write that changes nothing but the writer's own heartbeat (torch's
keep-alive) is told apart (`only_own_beat`): that one goes to the node's key
instead of rewriting the whole state.
"""

from __future__ import annotations

import math
import pickle
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from .beats import GONE


def node_name(node: Any) -> str:
    """The name a node's beat key carries: torch's own ``repr`` (``addr_pid_localid``)."""
    return repr(node)


class Merger:
    """Merges beats into states read from the store, for one node.

    ``read`` is the store's (`Beats.read`). ``good_for`` is how long a beat it
    returned stays good enough: a node whose newest known time is younger
    than that is not asked about again. A c10d beat is a time, true for good,
    so a node is asked about only once its known time nears torch's expiry
    (``good_for`` = the expiry less one interval: a live node has beaten
    since, a dead one is then dropped on time); an etcd beat says "alive now"
    and is asked about at every read (``good_for`` 0), which costs one range.
    """

    def __init__(self, read: Callable[[list[str]], Mapping[str, float]], good_for: float) -> None:
        self._read = read
        self._good_for = good_for
        self._known: dict[str, float] = {}  # the newest beat read, per node the state names

    def merge(
        self, bits: bytes, fresh_since: float = math.inf, own: tuple[str, float] | None = None
    ) -> tuple[bytes, int, int] | None:
        """``bits`` with each node's heartbeat the newer of its own and its beat, in epoch
        seconds, or the epoch itself for a node the store calls `GONE`; ``bits`` itself
        when nothing changed. Also: how many nodes the state names, and how many of them
        have a beat.

        None, without a read, when every time in the state is at or after
        ``fresh_since`` (epoch seconds): the state was written since, with every
        node in it (a round forming), and no beat can be due yet. That keeps the
        beats' read off the formation's path.

        ``own`` (the reading node's name, and the time of its latest beat) stands
        for what the store says of that node: torch beats when its own time grows
        old, so it must see the time of its own last beat (a store that answers
        "alive now", as etcd's leases do, would stop it from ever beating).
        """
        state = pickle.loads(bits)
        heartbeats = state.last_heartbeats
        if all(_seconds(when) >= fresh_since for when in heartbeats.values()):
            return None
        names = {node_name(node): node for node in heartbeats}
        known = {name: self._known[name] for name in names if name in self._known}
        stale = time.time() - self._good_for
        due = [
            name
            for name, node in names.items()
            if (own is None or name != own[0])
            and (
                name not in known  # first seen, or no key when last asked (torch's node)
                or known[name] == GONE  # asked again until torch drops it
                or max(_seconds(heartbeats[node]), known[name]) <= stale
            )
        ]
        if due:
            beats = self._read(due)
            for name in due:
                if name in beats:
                    known[name] = beats[name]
                else:
                    known.pop(name, None)  # no key (a node of torch's): the state's time
        if own is not None and own[0] in names:
            known[own[0]] = own[1]
        self._known = known
        changed = False
        for name, beat in known.items():
            node = names[name]
            when = _as_like(beat, heartbeats[node])
            # The store's word on a gone node is final; a live one's time only moves forward.
            if when != heartbeats[node] and (beat == GONE or when > heartbeats[node]):
                heartbeats[node] = when
                changed = True
        return (pickle.dumps(state) if changed else bits), len(names), len(known)


def only_own_beat(before: bytes | None, after: bytes, node: Any) -> bool:
    """Whether ``after`` differs from ``before`` in ``node``'s heartbeat alone (a keep-alive).

    Every other field, torch's present and any it adds later, must be equal.
    """
    if before is None:
        return False
    old, new = vars(pickle.loads(before)), vars(pickle.loads(after))
    if old.keys() != new.keys():
        return False
    for name in old:
        if name == "last_heartbeats":
            was, now = dict(old[name]), dict(new[name])
            was.pop(node, None)
            if node not in now:
                return False
            now.pop(node)
            if was != now:
                return False
        elif old[name] != new[name]:
            return False
    return True


def own_beat(after: bytes, node: Any) -> float | None:
    """``node``'s heartbeat in ``after`` as epoch seconds; None if it has none."""
    last = pickle.loads(after).last_heartbeats.get(node)
    return None if last is None else _seconds(last)


def _seconds(time: datetime) -> float:
    """A heartbeat time of torch's as epoch seconds."""
    if time.tzinfo is None:  # torch before 2.7 wrote naive UTC times
        time = time.replace(tzinfo=UTC)
    return float(time.timestamp())


def _as_like(seconds: float, like: datetime) -> datetime:
    """Epoch ``seconds`` as a datetime of ``like``'s kind (aware UTC, or naive UTC)."""
    aware = datetime.fromtimestamp(seconds, UTC)
    return aware if like.tzinfo is not None else aware.replace(tzinfo=None)
