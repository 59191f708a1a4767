"""One handler's waits, driven by its store's `Signals`.

Two waits of torch's handler become event-driven here (see
`rendezvous_di.backends.events.executor` for how they are hooked in):

- **Waiting for the others** (torch: sleep 1 s, then re-read the state).
  Here: sleep until another node rings the bell, after a write waiting
  nodes must hear (`rendezvous_di.backends.events.relevance`), or until the
  same second passes. A ring heard while nobody waits is remembered:
  `reading` (called before every state read) says which rings the state
  read already covers, and a node does not wake for its own rings.
- **The first join** (torch: sleep a random 0 to 0.3 s, so that nodes
  starting together do not all write at once). Here: a turnstile. Each node
  takes a ticket and waits until the node before it made its join write;
  then each join's compare-and-set meets no rival. A node that died or stalls
  holding its turn costs at most a second (`STILL`, torch's poll period), and
  its turn is passed on its behalf.
  While the nodes ahead keep passing their turns, a node keeps waiting: a
  long queue moves one join at a time, and joining out of turn would only
  make the writes collide.

A listener thread, with a store connection of its own, blocks on the store
for the turn and then for rings, and wakes the handler's thread through a
local condition: the handler's thread never blocks on the store itself, so
torch's bounds are local timeouts (no store request, no timed-out socket),
and the handler's connection stays free for its keep-alive thread.

Signals are help, never a dependency: a signal the store fails (`Signals.
failures`) is dropped, and the wait it served is torch's again (a ring lost
after a write that succeeded leaves the write standing; a ticket not taken
means torch's random delay; a listener not started means torch's poll). torch's
own next request to the store then meets the same trouble and reports it
with torch's error, so an agent sees exactly what torch would show it, down to
a shutdown that finds the store gone (``shutdown`` answers False).

The listener lives while the handler joins (`begin` to `end`, one
``next_rendezvous``); once idle, the next ring it hears ends it, and
shutting down rings to end it. A node's shutdown thus also ends the idle
listeners of the others: when the node hosting the store leaves, none is
left blocked on it (a store that vanishes under a blocked client makes
torch's C++ log a stack trace).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from .signals import Signals

log = logging.getLogger(__name__)

T = TypeVar("T")

STILL = 1.0
"""Seconds without any turn passing ahead after which the node before is taken for gone.

torch's poll period: a queue that stands still that long holds a dead node (or a
stalled one), and joining out of turn then costs no more than one torch poll. Shorter
waits gave up on queues that were only slow (hundreds of nodes on a loaded store), and
the nodes that gave up collided.
"""

CLOSE_WAIT = 5.0
"""Seconds a shutdown waits for the listener to hear its closing ring."""


class Waiting:
    """The event-driven waits of one handler."""

    def __init__(self, signals: Signals) -> None:
        self._signals = signals
        self._changed = threading.Condition()
        self._heard = 0  # rings of other nodes heard so far
        self._covered = 0  # of those, rung before the latest state read began
        self._own: set[int] = set()
        self._listener: threading.Thread | None = None
        self._position: int | None = None  # where a new listener starts hearing
        self._ticket: int | None = None
        self._turn_came = threading.Event()
        self._active = False
        self._closed = False

    # -- one join ---------------------------------------------------------------------------------

    def begin(self) -> None:
        """A join begins: rings from its first state read on are heard.

        Where the listener starts is fixed lazily, before that read
        (`reading`), or by the turnstile's ticket (`enter`), which comes first
        in a first join and may tell it without a request.
        """
        self._active = True
        self._position = None

    def end(self) -> None:
        """The join ended: pass the turn if still held; the listener may end."""
        self.leave()
        self._active = False

    # -- the bell --------------------------------------------------------------------------------

    def reading(self) -> None:
        """A state read begins: it covers every ring heard so far (and a listener started
        later must hear every ring from here on)."""
        if self._active and self._position is None and not self._listening():
            self._position = self._spare("reading the rings' position", self._signals.position)
        with self._changed:
            self._covered = self._heard

    def wrote(self, must_hear: Callable[[], bool]) -> None:
        """This node's write succeeded; ring if ``must_hear()`` says the others must hear it.

        The turn is passed first, so the next node in the turnstile writes while
        this one judges its write (which unpickles two states).
        """
        self.leave()  # a join write made: the next node in the turnstile may write
        if must_hear():
            number = self._spare("ringing", self._signals.ring)
            if number is not None:
                with self._changed:
                    self._own.add(number)

    def wait_for_others(self, timeout: float) -> bool:
        """Sleep until another node rings or ``timeout`` seconds pass; True when one rang.

        True at once when a ring came after the latest state read began:
        that state may predate it.
        """
        self.leave()  # waiting now: this node's join write is made, or it needs none
        self._listen(None)
        with self._changed:
            rang = self._changed.wait_for(lambda: self._heard != self._covered, timeout)
            self._covered = self._heard
            return rang

    # -- the turnstile ---------------------------------------------------------------------------

    def enter(self, limit: float) -> bool:
        """Wait for this node's turn to join, while the nodes ahead keep passing their turns.

        ``limit`` is torch's first-join delay; a queue that stands still for
        `STILL` seconds (at least ``limit``) is given up on.

        Only while no listener runs (it waits for the turn before it hears
        rings); otherwise answers False at once, and the caller delays as torch does.
        """
        if self._listening():
            return False
        ticket = self._spare("taking a ticket", self._signals.take_ticket)
        if ticket is None:
            return False
        self._ticket = ticket
        if self._position is None:  # None still: `_listen` asks the store
            self._position = self._signals.position_at(ticket)
        self._turn_came.clear()
        if not self._listen(ticket):  # nobody to tell this node its turn: torch's delay
            self.leave()
            return False
        progress = self._spare("reading the turnstile", lambda: self._signals.progress(ticket))
        while not self._turn_came.wait(max(limit, STILL)):
            now = self._spare("reading the turnstile", lambda: self._signals.progress(ticket))
            if now is None or now == progress:  # nobody ahead moved: the node before is gone
                log.debug("no turn passed before ticket %d in %.1fs; joining", ticket, STILL)
                # On its behalf; releases the listener too.
                self._spare("passing a turn", lambda: self._signals.skip_turn(ticket))
                break
            progress = now
        return True

    def leave(self) -> None:
        """Pass this node's turn (once): its join write is made, or it joins no more."""
        ticket, self._ticket = self._ticket, None
        if ticket is not None:  # lost, the next node passes it on this one's behalf
            self._spare("passing a turn", lambda: self._signals.pass_turn(ticket))

    # -- shutting down ---------------------------------------------------------------------------

    def close(self) -> None:
        """End the listener for good (the handler shuts down): it holds a store connection.

        A ring wakes it, which other nodes' listeners hear too: an idle one
        ends, a waiting node re-reads the state once.
        """
        self.leave()
        self._closed = True
        listener = self._listener
        if listener is None or not listener.is_alive():
            return
        if self._spare("waking the event listener", self._signals.ring) is not None:
            listener.join(timeout=CLOSE_WAIT)

    # -- signals that fail -----------------------------------------------------------------------

    def _spare(self, what: str, request: Callable[[], T]) -> T | None:
        """``request()``, or None when the store fails it (`Signals.failures`): the
        wait it served becomes torch's (see the module's docstring)."""
        try:
            return request()
        except self._signals.failures as error:
            log.debug("%s failed, so this wait is torch's: %s", what, error)
            return None

    # -- the listener ----------------------------------------------------------------------------

    def _listening(self) -> bool:
        return self._listener is not None and self._listener.is_alive()

    def _listen(self, ticket: int | None) -> bool:
        """Start the listener unless one runs; True when one runs now."""
        with self._changed:
            if self._listening():
                return True
            if self._closed:
                return False
            position = self._position
            if position is None:  # waiting outside a join, or an earlier read failed
                position = self._spare("reading the rings' position", self._signals.position)
                if position is None:
                    return False
            self._position = None
            self._listener = threading.Thread(
                target=self._run_listener,
                args=(position, ticket),
                name="rendezvous-di-events",
                daemon=True,
            )
            self._listener.start()
            return True

    def _run_listener(self, position: int, ticket: int | None) -> None:
        try:
            self._signals.listen(
                position, self._heard_ring, ticket, self._turn_came.set, self._stopped
            )
        except Exception as error:
            log.debug("event listener ended: %s", error)
        finally:
            self._turn_came.set()

    def _stopped(self) -> bool:
        return self._closed or not self._active

    def _heard_ring(self, number: int) -> None:
        with self._changed:
            if number in self._own:
                self._own.discard(number)
                return
            self._heard += 1
            self._changed.notify_all()
