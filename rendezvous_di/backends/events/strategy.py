"""The ``sync`` option: how a node that waits for the others learns the state changed.

- ``event``: the store tells it (`EventSync`); torch's one second stays the
  bound on every wait.
- ``poll``: torch's own behaviour, exactly (`PollSync`): the handler is
  torch's, untouched.

A strategy is what the container's ``sync`` provider gives the dynamic
backends' creators, so tests and platforms override it like any provider
(``container.sync.override(providers.Object(PollSync()))``). Creators built
outside a container (torchrun with our plugin, `builtin_creator`) read the
option from the parameters (`sync_for`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from ..options import OptionSpec

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous.dynamic_rendezvous import RendezvousBackend

    from .signals import Signals

EVENT, POLL = "event", "poll"


SYNC_HELP = (
    "how a waiting node learns the rendezvous changed: event (the store notifies it; "
    "torch's 1 s poll is the bound) or poll (torch's behaviour)"
)
POLL_ONLY_HELP = "poll only: torch's 1 s poll (event-driven waiting needs c10d or etcd-v3)"


def sync_option(default: str, choices: tuple[str, ...] = (EVENT, POLL)) -> OptionSpec:
    """The declared ``sync`` option of a dynamic backend."""
    help_text = SYNC_HELP if EVENT in choices else POLL_ONLY_HELP
    return OptionSpec("sync", "choice", default, help_text, choices=choices)


Finish = Callable[[Any], None]
"""Completes a handler built on the prepared backend."""


class SyncStrategy(ABC):
    """Prepares a dynamic handler's backend, then the handler, for one way of waiting."""

    name: ClassVar[str]

    @abstractmethod
    def prepare(
        self, backend: RendezvousBackend, signals: Callable[[], Signals]
    ) -> tuple[RendezvousBackend, Finish]:
        """The backend to build the handler on, and what to do to the handler once built.

        ``signals`` makes the store's `Signals` (a connection, for a c10d
        store); a strategy that does not use them never calls it.
        """


class PollSync(SyncStrategy):
    """torch's own waiting: a fixed one-second sleep, then a full read of the state."""

    name = POLL

    def prepare(
        self, backend: RendezvousBackend, signals: Callable[[], Signals]
    ) -> tuple[RendezvousBackend, Finish]:
        """See base class: nothing changes."""
        return backend, _unchanged


class EventSync(SyncStrategy):
    """Waiting on the store's signals (`rendezvous_di.backends.events.waiting`)."""

    name = EVENT

    def prepare(
        self, backend: RendezvousBackend, signals: Callable[[], Signals]
    ) -> tuple[RendezvousBackend, Finish]:
        """See base class: a backend that tells the waits, a handler that waits on them."""
        from .executor import attach
        from .ringing import RingingBackend
        from .waiting import Waiting

        waiting = Waiting(signals())

        def finish(handler: Any) -> None:
            attach(handler, waiting)

        return RingingBackend(backend, waiting), finish


STRATEGIES: dict[str, SyncStrategy] = {EVENT: EventSync(), POLL: PollSync()}


def sync_for(params: Any, default: str = EVENT) -> SyncStrategy:
    """The strategy ``params`` (torch's ``RendezvousParameters``) ask for, ``default`` if none."""
    value = str(params.config.get("sync") or default).strip().lower()
    return STRATEGIES.get(value, STRATEGIES[default])


def _unchanged(handler: Any) -> None:
    del handler
