"""Leaving a rendezvous at once when an agent is stopped, without closing it.

torch's launcher, stopped by a signal (a scale-down, a preempted host), skips
its handler's ``shutdown``: that would close the run for every node. So the
node just goes quiet, and the others wait until its heartbeats expire
(``keep_alive_interval x keep_alive_max_attempt``, 15 s by default) before
they can re-form without it.

`leave` takes the node out instead, with torch's own operation executor and
torch's own actions (out of the participants, the wait list or the
redundancy list): one state write, which event-driven nodes hear at once.
The run stays open for the nodes that remain and for those that come later.
It is bounded: a stop must end within about a second, so a store that does
not answer within `LEAVE_WITHIN` is left to the heartbeats' expiry, as torch
leaves it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

LEAVE_WITHIN = 1.0
"""Seconds a stopped agent spends leaving; past that, its heartbeats' expiry does it."""


def leave(handler: Any, within: float = LEAVE_WITHIN) -> bool:
    """Take ``handler``'s node out of its rendezvous (not closing it); True when it left.

    ``handler`` is torch's ``DynamicRendezvousHandler`` or a wrapper of one
    (``inner``); any other handler (static, torch's legacy etcd) has nothing to
    leave and answers False.
    """
    dynamic = _dynamic(handler)
    if dynamic is None:
        return False
    left = threading.Event()

    def run() -> None:
        try:
            dynamic._stop_heartbeats()
            dynamic._op_executor.run(_leave_op(), time.monotonic() + within)
            left.set()
        except Exception as error:  # the store is gone or slow: the expiry does it
            log.debug("could not leave the rendezvous: %s", error)

    # A thread, so that a store that does not answer cannot hold the stop past `within`.
    worker = threading.Thread(target=run, name="rendezvous-di-leave", daemon=True)
    worker.start()
    worker.join(within)
    return left.is_set()


def _leave_op() -> Any:
    """torch's op protocol (``(ctx, deadline) -> _Action``) for leaving every list."""
    from torch.distributed.elastic.rendezvous.dynamic_rendezvous import _Action

    def op(ctx: Any, deadline: float) -> Any:
        state, node = ctx.state, ctx.node
        if state.closed:
            return _Action.FINISH  # nothing to leave: the job ended
        if time.monotonic() > deadline:
            return _Action.ERROR_TIMEOUT
        if node in state.participants:
            return _Action.REMOVE_FROM_PARTICIPANTS
        if node in state.wait_list:
            return _Action.REMOVE_FROM_WAIT_LIST
        if node in getattr(state, "redundancy_list", ()):
            return _Action.REMOVE_FROM_REDUNDANCY_LIST
        return _Action.FINISH

    return op


def _dynamic(handler: Any) -> Any:
    from torch.distributed.elastic.rendezvous.dynamic_rendezvous import DynamicRendezvousHandler

    for _ in range(8):  # wrappers (a renamed handler, admission) keep theirs in ``inner``
        if isinstance(handler, DynamicRendezvousHandler):
            return handler
        handler = getattr(handler, "inner", None)
        if handler is None:
            return None
    return None
