"""The ``heartbeats`` option: where a node's keep-alive beats go.

- ``keys``: a key of the node's own (`KeyHeartbeats`); the shared state is
  rewritten only when membership changes.
- ``state``: torch's own behaviour (`StateHeartbeats`): every beat rewrites
  the whole state with a compare-and-set.

Like ``sync``, creators read it from the parameters (`heartbeats_for`).
"""

from __future__ import annotations

import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from ..options import OptionSpec

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous.dynamic_rendezvous import RendezvousBackend

    from .beats import Beats

KEYS, STATE = "keys", "state"

HEARTBEATS_HELP = (
    "where a node's keep-alive beats go: keys (a small key per node; the state is "
    "rewritten only when membership changes) or state (torch's: each beat rewrites it)"
)


def heartbeats_option(default: str) -> OptionSpec:
    """The declared ``heartbeats`` option of a dynamic backend that has beat keys."""
    return OptionSpec("heartbeats", "choice", default, HEARTBEATS_HELP, choices=(KEYS, STATE))


Finish = Callable[[Any], None]
"""Completes a handler built on the prepared backend."""


class HeartbeatStrategy(ABC):
    """Prepares a dynamic handler's state backend for one place of keeping beats."""

    name: ClassVar[str]

    @abstractmethod
    def prepare(
        self, backend: RendezvousBackend, beats: Callable[[], Beats]
    ) -> tuple[RendezvousBackend, Finish]:
        """The backend to build on, and what to do to the handler once built."""


class StateHeartbeats(HeartbeatStrategy):
    """torch's own: beats in the shared state."""

    name = STATE

    def prepare(
        self, backend: RendezvousBackend, beats: Callable[[], Beats]
    ) -> tuple[RendezvousBackend, Finish]:
        """See base class: nothing changes."""
        return backend, _unchanged


class KeyHeartbeats(HeartbeatStrategy):
    """Beats in keys of their own (`rendezvous_di.backends.liveness.beating`)."""

    name = KEYS

    def prepare(
        self, backend: RendezvousBackend, beats: Callable[[], Beats]
    ) -> tuple[RendezvousBackend, Finish]:
        """See base class: a backend that sends beats to keys and merges them into reads."""
        from .beating import BeatingBackend

        beating = BeatingBackend(backend, beats())

        def finish(handler: Any) -> None:
            from .dropping import dropper

            settings = handler._settings
            ref = weakref.ref(handler)  # the handler holds the backend: no cycle (the store
            # closes with its last reference)
            beating.attach(
                lambda: getattr(ref(), "_this_node", None),
                settings.keep_alive_interval.total_seconds(),
                int(settings.keep_alive_max_attempt),
            )
            beating.on_gone(dropper(handler))

        return beating, finish


STRATEGIES: dict[str, HeartbeatStrategy] = {KEYS: KeyHeartbeats(), STATE: StateHeartbeats()}


def heartbeats_for(params: Any, default: str = KEYS) -> HeartbeatStrategy:
    """The strategy ``params`` (torch's ``RendezvousParameters``) ask for, ``default`` if none."""
    value = str(params.config.get("heartbeats") or default).strip().lower()
    return STRATEGIES.get(value, STRATEGIES[default])


def _unchanged(handler: Any) -> None:
    del handler
