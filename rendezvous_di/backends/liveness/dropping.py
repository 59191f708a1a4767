"""Writing a gone node out of the state as soon as the store says it is gone.

torch drops a dead node when a survivor next writes the state, which happens at
that survivor's next keep-alive: up to one ``keep_alive_interval`` (5 s by
default) after the node was found gone. Where the store tells of a death as it
happens (etcd deletes a node's ``alive`` key when its lease ends, and a watch
hears it), one survivor writes it out at once instead: the one of lowest rank,
so that the others' writes do not collide with it.

It does so through torch's own keep-alive (``_keep_alive``: torch's lock,
torch's operation, torch's write), made due now (`BeatingBackend.beat_now`),
and only while the handler's heartbeats run: inside ``next_rendezvous`` torch's
own operations write soon enough, and nothing may share the state holder
with them. torch keeps its own keep-alive out of them by joining the timer's
thread when it stops the heartbeats (``_stop_heartbeats``, the first thing
``next_rendezvous`` and ``shutdown`` do); the drop, which runs on the watch's
thread, is kept out the same way: the handler's ``_stop_heartbeats`` also
waits for a drop under way, and a drop checks that the heartbeats run while
holding the same lock. Without it, a lease that ended just as the survivors
re-joined (their workers fail at once when a host dies) let a drop's write of
the old round land inside a new one.
"""

from __future__ import annotations

import logging
import pickle
import threading
import weakref
from collections.abc import Callable
from typing import Any

from .merging import node_name

log = logging.getLogger(__name__)


Gone = Callable[[str, "bytes | None", Callable[[], None]], None]
"""Told a node's name, the state last read, and how to make this node's beat due now."""


def dropper(handler: Any) -> Gone:
    """What to do when node ``name`` is gone, given the last state ``handler`` read.

    It holds the handler weakly: the handler holds the backend that holds this.
    """
    ref = weakref.ref(handler)
    dropping = threading.Lock()  # held by a drop under way
    # The handler's own (the event-driven waiting's, which holds it weakly), else torch's.
    own = vars(handler).get("_stop_heartbeats")
    torchs = type(handler)._stop_heartbeats

    def stop_heartbeats() -> None:
        """torch's (which joins its timer's thread), then a drop under way is waited for."""
        handler = ref()
        if own is not None:
            own()
        elif handler is not None:
            torchs(handler)
        with dropping:
            pass

    handler._stop_heartbeats = stop_heartbeats  # what torch's own methods call

    def gone(name: str, seen: bytes | None, beat_now: Callable[[], None]) -> None:
        with dropping:
            drop(name, seen, beat_now)

    def drop(name: str, seen: bytes | None, beat_now: Callable[[], None]) -> None:
        handler = ref()
        if handler is None or seen is None or not _beating(handler):
            return
        state = pickle.loads(seen)
        ranks = {
            node_name(node): rank
            for node, rank in state.participants.items()
            if node_name(node) != name
        }
        own = node_name(handler._this_node)
        if name not in {node_name(node) for node in state.participants} or own not in ranks:
            return  # not a member of this round, or this node is not: nothing to write
        if ranks[own] != min(ranks.values()):
            return  # a survivor of lower rank writes it
        log.debug("node %s is gone: writing it out of the rendezvous now", name)
        beat_now()
        handler._state_holder._last_sync_time = -1.0  # read now, not torch's 1 s cache
        try:
            type(handler)._keep_alive(handler)  # torch's: its lock, its operation, its write
        except Exception as error:  # the next keep-alive writes it anyway
            log.debug("could not write the gone node out: %s", error)

    return gone


def _beating(handler: Any) -> bool:
    """Whether ``handler``'s keep-alive timer runs (it does not inside ``next_rendezvous``)."""
    timer = getattr(handler, "_keep_alive_timer", None)
    context = getattr(timer, "_ctx", None)
    stop = getattr(context, "stop_event", None)
    return stop is not None and not stop.is_set()
