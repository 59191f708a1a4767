"""torch's dynamic rendezvous (``c10d``, ``etcd-v2``, our ``etcd-v3``): creating it, reading it.

torch builds these handlers from two public functions: the backend module's
``create_backend(params)``, which returns the ``RendezvousBackend`` holding the
shared state and the store, and ``dynamic_rendezvous.create_handler(store,
backend, params)``. Its registry's ``_create_c10d_handler`` is exactly those two
calls; `creator` makes the same two calls and keeps the backend, so that
`read_progress` can ask it for the state (``RendezvousBackend.get_state``, public)
without reaching into the handler.

The state is torch's rendezvous state as torch pickles it into the backend:
participants, the wait list, the round and whether it is complete.
"""

from __future__ import annotations

import os
import pickle
import weakref
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any, Protocol

from ..description import Snapshot

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import (
        RendezvousHandler,
        RendezvousParameters,
    )
    from torch.distributed.elastic.rendezvous.dynamic_rendezvous import RendezvousBackend

    from ..events.signals import Signals
    from ..events.strategy import SyncStrategy
    from ..liveness.beats import Beats

_STATE_BACKENDS: weakref.WeakKeyDictionary[Any, RendezvousBackend] = weakref.WeakKeyDictionary()
"""The backend holding each dynamic handler's shared state; gone with the handler."""

PACKAGE = "torch.distributed.elastic.rendezvous"


def remember(handler: RendezvousHandler, backend: RendezvousBackend) -> None:
    """Record the backend that holds ``handler``'s state (a handler built by our own code)."""
    _STATE_BACKENDS[handler] = backend


SignalsFactory = Callable[[Any, "RendezvousParameters"], "Signals"]
"""Makes the store's `Signals` from torch's store and the parameters."""

BeatsFactory = Callable[[Any, "RendezvousParameters"], "Beats"]
"""Makes the store's heartbeat keys (`Beats`) from torch's store and the parameters."""


def creator(
    backend_module: str, signals: SignalsFactory | None = None, beats: BeatsFactory | None = None
) -> DynamicCreator:
    """torch's creator for the dynamic backend of ``backend_module``, its state backend kept.

    ``backend_module`` is the torch module with ``create_backend``
    (``c10d_rendezvous_backend``, ``etcd_rendezvous_backend``). With
    ``signals`` the backend can wait on events: the ``sync`` strategy (the
    container's, or the ``sync`` option's) decides; without, it polls as torch does.
    With ``beats`` its heartbeats can go to keys of their own (the ``heartbeats``
    option); without, they stay in the state.
    """

    def create(params: RendezvousParameters, sync: SyncStrategy | None = None) -> RendezvousHandler:
        from ..._torch import rendezvous_module

        rendezvous_module()  # torch's rendezvous package, imported without its plugin loading
        from torch.distributed.elastic.rendezvous.dynamic_rendezvous import create_handler

        from ..events.strategy import POLL, STRATEGIES, sync_for

        backend, store = import_module(f"{PACKAGE}.{backend_module}").create_backend(params)
        if signals is None:
            strategy = STRATEGIES[POLL]
        else:
            strategy = sync if sync is not None else sync_for(params)
        make_signals = signals

        def store_signals() -> Signals:
            assert make_signals is not None  # PollSync never asks
            return make_signals(store, params)

        from ..liveness.strategy import STATE, heartbeats_for
        from ..liveness.strategy import STRATEGIES as LIVENESS

        make_beats = beats
        liveness = LIVENESS[STATE] if make_beats is None else heartbeats_for(params)

        def store_beats() -> Beats:
            assert make_beats is not None  # StateHeartbeats never asks
            return make_beats(store, params)

        beating_backend, finish_beats = liveness.prepare(backend, store_beats)
        waiting_backend, finish = strategy.prepare(beating_backend, store_signals)
        handler = create_handler(store, waiting_backend, params)
        finish(handler)
        finish_beats(handler)  # after the waiting's: it wraps what that one sets
        remember(handler, backend)  # the plain backend: progress reads must not touch the waits
        return handler

    return create


class DynamicCreator(Protocol):
    """A dynamic backend's creator: torch's signature, plus the container's ``sync`` strategy."""

    def __call__(
        self, params: RendezvousParameters, sync: SyncStrategy | None = None
    ) -> RendezvousHandler: ...


def read_progress(handler: Any) -> Snapshot | None:
    """Nodes joined so far, from the state in the handler's backend; None when unknown.

    A node of this process (the agent runs one handler) in a complete round means
    that round is ours; otherwise a complete round formed without us, and we join
    the next one with the nodes on its wait list.
    """
    backend = _STATE_BACKENDS.get(handler)
    if backend is None:
        return None
    got = backend.get_state()
    if got is None:
        return Snapshot(joined=0)
    state = pickle.loads(got[0])  # what torch's own state holder loads from this backend
    if state.complete and _ours(state.participants):
        return Snapshot(joined=len(state.participants), round=state.round, complete=True)
    if state.complete:
        return Snapshot(joined=len(state.wait_list), round=state.round + 1)
    return Snapshot(joined=len(state.participants), round=state.round)


def _ours(nodes: Any) -> bool:
    pid = os.getpid()
    return any(getattr(node, "pid", None) == pid for node in nodes)
