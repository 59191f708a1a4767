"""What a store offers event-driven waiting: rings, tickets, turns, and a way to hear them.

A store (a c10d store, etcd) implements `Signals`; `rendezvous_di.backends.
events.waiting.Waiting` builds the waits of one handler on it. Rings and turns
carry numbers so that a node can tell its own ring from another's and a turn
from the next one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable


class Signals(ABC):
    """The store side of event-driven waiting."""

    failures: tuple[type[Exception], ...] = ()
    """The errors of this store's requests (a lost connection, a store gone).

    `Waiting` treats a signal that fails with one of them as lost: the wait it
    served falls back to torch's poll, and torch's own next request to the
    store reports the trouble, with torch's error.
    """

    @abstractmethod
    def ring(self) -> int:
        """Ring the bell; return the ring's number as listeners will hear it."""

    @abstractmethod
    def take_ticket(self) -> int:
        """Queue this node at the turnstile; its ticket (later tickets are larger)."""

    @abstractmethod
    def pass_turn(self, ticket: int) -> None:
        """``ticket``'s turn is over: the node after it may go."""

    @abstractmethod
    def skip_turn(self, ticket: int) -> None:
        """The node before ``ticket`` is taken for gone: pass its turn on its behalf."""

    @abstractmethod
    def progress(self, ticket: int) -> int:
        """A number that changes whenever a turn ahead of ``ticket`` passes."""

    @abstractmethod
    def position(self) -> int:
        """Where the rings stand now: a listener started from here hears every later ring."""

    def position_at(self, ticket: int) -> int | None:
        """Where the rings stood when ``ticket`` was taken, if the ticket tells (no request);
        None: ask `position`.

        A node reads the state only after its turn, so rings rung before its
        ticket are covered by that read: a listener may start from here.
        """
        del ticket
        return None

    @abstractmethod
    def listen(
        self,
        position: int,
        heard: Callable[[int], None],
        ticket: int | None,
        turn_came: Callable[[], None],
        stopped: Callable[[], bool],
    ) -> None:
        """Hear rings after ``position`` (``heard(number)``) until ``stopped()`` or the store goes.

        Runs on its own thread. With a ``ticket``, first wait until it is that
        ticket's turn, then call ``turn_came``; rings rung meanwhile are heard
        after that. ``stopped()`` is asked after each ring: to stop a listener,
        make it true, then ring.
        """
