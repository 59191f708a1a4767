"""Making torch's dynamic rendezvous event-driven: its waits, and nothing else, replaced.

torch's handler waits in two places, both through its module's ``_delay``:

- its op executor (``_DistributedRendezvousOpExecutor.run``) loops: sync the
  state, ask the operation (join, exit, close, keep-alive) for the next
  action, do it; on ``SYNC`` (nothing to do but wait for the others) it calls
  ``_delay(seconds=1)``. Here that wait is the bell's (`Bell.wait`), bounded
  by the same second, and by the round's last-call deadline when that comes
  first.
- ``next_rendezvous`` delays a node's first join by a random 0 to 0.3 s. Here
  that is the turnstile's (`Turnstile.enter`), bounded by the same 0.3 s.

Both functions run unchanged, as torch's own code objects, with that one
global name bound to this handler's waits instead: the state machine, the
state format, the options and every other step are torch's.

One more global is rebound, for speed only: the ``get_method_name`` its
event records name themselves with (`rendezvous_di.backends.events.records`:
torch's reads every frame's source file, 10 to 20 ms a record here, twice
per join).

Waking on a ring must also make the next sync read: torch's state holder
serves a read less than ``cache_duration`` (1 s) old from its cache, so the
wait marks the cache stale.

These are the private names of torch this relies on; `attach` checks them,
so a torch that renamed them fails on creation with a clear message rather
than polling silently or breaking mid-job: the handler's ``_op_executor``
(a ``_DistributedRendezvousOpExecutor``) and ``_state_holder`` (with
``_last_sync_time``), and ``_delay`` called by ``run`` and ``next_rendezvous``.
"""

from __future__ import annotations

import functools
import types
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError
from .rebinding import rebound
from .records import name_records_cheaply

if TYPE_CHECKING:
    from .waiting import Waiting

Delay = Callable[..., None]


class UnsupportedTorch(ConfigError):
    """This torch's dynamic rendezvous lacks what event-driven waiting hooks into.

    A `ConfigError` of ``conf.sync``: the command line says it in one line (exit
    2) and names the way out, ``sync=poll``, which runs torch's handler as it is.
    """

    def __init__(self, lacking: str) -> None:
        super().__init__(
            "conf.sync",
            "event",
            f"this torch's dynamic rendezvous cannot wait on events: {lacking}",
            hint="set sync=poll (--rdzv-conf sync=poll) to wait as torch does",
        )


def attach(handler: Any, waiting: Waiting) -> None:
    """Make ``handler`` (torch's ``DynamicRendezvousHandler``) wait through ``waiting``.

    Raises:
        UnsupportedTorch: naming what this torch lacks.
    """
    from torch.distributed.elastic.rendezvous import dynamic_rendezvous as torch_module

    executor: Any = getattr(handler, "_op_executor", None)
    holder: Any = getattr(handler, "_state_holder", None)
    if not isinstance(executor, torch_module._DistributedRendezvousOpExecutor):
        raise UnsupportedTorch("its handler has no _DistributedRendezvousOpExecutor")
    if not isinstance(getattr(holder, "_last_sync_time", None), (int, float)):
        raise UnsupportedTorch("its state holder has no _last_sync_time")
    run = _delaying(torch_module._DistributedRendezvousOpExecutor, "run")
    join = _delaying(torch_module.DynamicRendezvousHandler, "next_rendezvous")
    torch_delay: Delay = run.__globals__["_delay"]

    def wait_for_others(seconds: float | tuple[float, float]) -> None:
        if waiting.wait_for_others(_until_deadline(holder.state, _longest(seconds))):
            holder._last_sync_time = -1.0  # the next sync reads the state, not the cache

    def wait_for_turn(seconds: float | tuple[float, float]) -> None:
        if not waiting.enter(_longest(seconds)):
            torch_delay(seconds=seconds)

    joins_in_turn = rebound(join, _delay=wait_for_turn)
    torch_shutdown = type(handler).shutdown

    def next_rendezvous(this: Any) -> Any:
        waiting.begin()
        try:
            return joins_in_turn(this)
        finally:
            waiting.end()

    def shutdown(this: Any) -> bool:
        waiting.close()
        return bool(torch_shutdown(this))

    keep_alive, start_heartbeats, stop_heartbeats = _dephased(handler)
    name_records_cheaply(handler, executor, holder)

    # Instance attributes, so the class (and every other handler) stays torch's. They hold
    # their instance weakly: a cycle would keep the store (it closes with its last reference)
    # until a garbage collection.
    executor.run = functools.partial(  # type: ignore[method-assign]
        rebound(run, _delay=wait_for_others), weakref.proxy(executor)
    )
    handler.next_rendezvous = functools.partial(next_rendezvous, weakref.proxy(handler))
    handler.shutdown = functools.partial(shutdown, weakref.proxy(handler))
    # torch's _start_heartbeats takes a weakref of its handler, which a proxy cannot give.
    handler_ref = weakref.ref(handler)
    handler._keep_alive = functools.partial(keep_alive, handler_ref)
    handler._start_heartbeats = functools.partial(start_heartbeats, handler_ref)
    handler._stop_heartbeats = functools.partial(stop_heartbeats, handler_ref)


def _dephased(handler: Any) -> tuple[Callable[[weakref.ref[Any]], None], ...]:
    """torch's ``_keep_alive``, ``_start_heartbeats`` and ``_stop_heartbeats``, with the
    first beat after each join, and the beat after one that lost its compare-and-set,
    delayed by `HeartbeatPhase` (see there why)."""
    from .heartbeat_phase import SPREAD, HeartbeatPhase, spread_for

    cls = type(handler)
    names = ("_keep_alive", "_start_heartbeats", "_stop_heartbeats")
    missing = [
        name for name in names if not isinstance(getattr(cls, name, None), types.FunctionType)
    ]
    interval = getattr(getattr(handler, "_settings", None), "keep_alive_interval", None)
    if missing or interval is None or not hasattr(interval, "total_seconds"):
        raise UnsupportedTorch(
            f"its handler lacks {', '.join(missing) or '_settings.keep_alive_interval'}"
        )
    torch_keep_alive, torch_start, torch_stop = (getattr(cls, name) for name in names)
    attempts = getattr(handler._settings, "keep_alive_max_attempt", None)
    spread = SPREAD if not isinstance(attempts, int) else spread_for(attempts)
    phase = HeartbeatPhase(interval.total_seconds(), spread)

    def keep_alive(this: weakref.ref[Any]) -> None:
        if phase.may_beat():
            handler = this()
            if handler is None:
                return
            if phase.delayed:  # a state cached before the delay
                handler._state_holder._last_sync_time = -1.0  # would lose its compare-and-set
            backend = handler._state_holder._backend
            lost = getattr(backend, "lost", 0)
            torch_keep_alive(handler)
            if getattr(backend, "lost", 0) > lost:  # met another node's beat: part from it
                phase.redraw()

    def start_heartbeats(this: weakref.ref[Any]) -> None:
        phase.start()
        torch_start(this())

    def stop_heartbeats(this: weakref.ref[Any]) -> None:
        phase.stop()
        torch_stop(this())

    return keep_alive, start_heartbeats, stop_heartbeats


def _delaying(owner: type, name: str) -> types.FunctionType:
    function = getattr(owner, name, None)
    if not isinstance(function, types.FunctionType) or "_delay" not in function.__code__.co_names:
        raise UnsupportedTorch(f"its {owner.__name__}.{name} does not wait with _delay")
    return function


def _longest(seconds: float | tuple[float, float]) -> float:
    longest: float = seconds[1] if isinstance(seconds, tuple) else seconds
    return float(longest)


def _until_deadline(state: Any, limit: float) -> float:
    """``limit``, or less when the round's last-call deadline comes first.

    Once the deadline passes, any participant may complete the round; waking
    right then, not up to a second later, makes ``last_call_timeout`` the
    time it says.
    """
    deadline = getattr(state, "deadline", None)
    if deadline is None or getattr(state, "complete", False):
        return limit
    now = datetime.now(UTC)
    if deadline.tzinfo is None:  # torch before 2.7 wrote naive UTC times
        now = now.replace(tzinfo=None)
    left: float = (deadline - now).total_seconds()
    return max(0.01, min(limit, left + 0.005))
