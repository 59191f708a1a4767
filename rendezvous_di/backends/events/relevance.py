"""Which writes to the rendezvous state ring the bell: those a waiting node must act on.

A node waits (torch's ``SYNC`` action) in three situations: it joined and
the round is not complete; the round is complete without it (wait list,
redundancy list); or it waits for the last-call deadline. What can change
its next action is a new round, a completed or closed rendezvous, a new
deadline, or a node leaving (participants, wait list or redundancy list).
Heartbeats and nodes joining a round that is not complete yet change no
waiting node's action, and they are most writes: at formation every node
joins once, in a running job every node beats every ``keep_alive_interval``.
Those writes ring nothing, so N joining nodes wake each waiting node once
(the round completes), not N times.

A waiter that misses a change here still sees it within torch's one second:
this only decides how soon, never whether.
"""

from __future__ import annotations

import pickle
from typing import Any

_GROWING = ("participants", "wait_list", "redundancy_list")
"""Node collections where an addition is no news to waiting nodes, but a removal is."""

_QUIET = ("last_heartbeats",)
"""Fields whose changes are no news at all."""


def must_hear(before: bytes | None, after: bytes) -> bool:
    """Whether writing ``after`` over ``before`` (torch's pickled states) must wake waiters.

    Every field torch may add later counts as news when it changes: only the
    fields named above are known to be quiet.
    """
    if before is None:
        return True
    if before == after:
        return False
    old, new = _fields(before), _fields(after)
    for name in old.keys() | new.keys():
        if name in _QUIET:
            continue
        was, now = old.get(name), new.get(name)
        if name in _GROWING and was is not None and now is not None:
            if not set(was) <= set(now):
                return True
        elif was != now:
            return True
    return False


def _fields(state: bytes) -> dict[str, Any]:
    # The state torch's own state holder unpickles from the same backend.
    return dict(vars(pickle.loads(state)))
