"""`Signals` in a c10d store (TCPStore, FileStore), which has no watch.

A store has atomic counters (``add``) and blocking reads (``wait``: the
store answers when the keys exist), so each signal is a counter plus a key
per number:

- a ring counts itself on ``<key>/bell`` and sets ``<key>/bell/<n>``; the
  listener, having heard ring ``n - 1``, waits for that key;
- a ticket is ``add`` on ``<key>/turnstile``; passing turn ``t`` sets
  ``<key>/turnstile/<t>`` and counts on ``<key>/turnstile/passed``.

Only the newest `KEPT` keys of each are kept, so the store holds a bounded
number of keys however long the job runs; a listener that falls that far
behind skips to the counter's value. The listener blocks with a connection
of its own (``connect``), so the handler's connection stays free, and its
``wait`` never times out in practice (`LISTEN_FOR`): a timed-out store wait
is logged by torch's C++ socket code, and the local waits are bounded
instead.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from .signals import Signals

KEPT = 64
"""Ring keys and turn keys kept in the store."""

LISTEN_FOR = datetime.timedelta(days=1)
"""How long one store ``wait`` of the listener lasts; it waits again after."""


class StoreSignals(Signals):
    """Rings and turns in a c10d store; the listener uses its own client from ``connect``."""

    failures = (RuntimeError,)
    """torch's store errors (``DistError`` and its kin are ``RuntimeError``s, as were
    the store errors of torch before them)."""

    def __init__(self, store: Any, key: str, connect: Callable[[], Any]) -> None:
        self._store = store
        # Connected now, with the handler: a connection made while nodes join would make
        # the store's server accept it mid-formation, and every node would wait for that.
        self._listener_store = connect()
        self._bell = f"{key}/bell"
        self._turnstile = f"{key}/turnstile"
        self._passed = f"{key}/turnstile/passed"

    def ring(self) -> int:
        """See base class."""
        return self._count(self._bell)

    def take_ticket(self) -> int:
        """See base class."""
        return int(self._store.add(self._turnstile, 1))

    def pass_turn(self, ticket: int) -> None:
        """See base class."""
        self._set(self._turnstile, ticket)
        self._store.add(self._passed, 1)

    def skip_turn(self, ticket: int) -> None:
        """See base class."""
        self.pass_turn(ticket - 1)

    def progress(self, ticket: int) -> int:
        """See base class: turns passed so far (any ticket's)."""
        del ticket
        return int(self._store.add(self._passed, 0))

    def position(self) -> int:
        """See base class: the number of rings so far."""
        return int(self._store.add(self._bell, 0))

    def listen(
        self,
        position: int,
        heard: Callable[[int], None],
        ticket: int | None,
        turn_came: Callable[[], None],
        stopped: Callable[[], bool],
    ) -> None:
        """See base class."""
        store = self._listener_store
        if ticket is not None:
            if ticket > 1:
                self._wait(store, f"{self._turnstile}/{ticket - 1}")
            turn_came()
        rung = position
        while not stopped():
            self._wait(store, f"{self._bell}/{rung + 1}")
            rung += 1
            heard(rung)
            if stopped():
                return
            latest = int(store.add(self._bell, 0))
            if latest - rung >= KEPT:  # fell behind the kept keys: count the rest as heard
                for number in range(rung + 1, latest + 1):
                    heard(number)
                rung = latest

    def _count(self, counter: str) -> int:
        number = int(self._store.add(counter, 1))
        self._set(counter, number)
        return number

    def _set(self, counter: str, number: int) -> None:
        self._store.set(f"{counter}/{number}", b"")
        if number > KEPT:
            self._store.delete_key(f"{counter}/{number - KEPT}")

    @staticmethod
    def _wait(store: Any, key: str) -> None:
        from torch.distributed import DistStoreError

        while True:
            try:
                store.wait([key], LISTEN_FOR)
                return
            except DistStoreError:  # a day without it: wait again
                continue
