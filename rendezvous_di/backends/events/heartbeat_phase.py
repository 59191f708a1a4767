"""Keep-alive beats spread over the interval, so that nodes woken together do not beat together.

torch's keep-alive timer starts when a node's join returns and then beats
every ``keep_alive_interval`` after the previous beat ends. Polling nodes
finish their joins up to a second apart, so their beats are spread out. With
events every node of a round wakes on the same ring and finishes its join
within milliseconds, so every node beats at the same instant, interval after
interval, and each beat is a compare-and-set of the whole state: all but one
lose, read the state again and retry. Measured on etcd-v3 with 16 nodes
(keep-alive every 1 s), that is 1.2 lost compare-and-sets per node per
interval, more than doubling the store's steady writes.

`HeartbeatPhase` delays a node's first beat after each join by a random
fraction of the interval (up to a whole one), once; the timer then keeps that
phase. The delayed beat must read the state afresh: torch's one-second state
cache may hold a state from before other nodes' beats, and a compare-and-set
against it loses (measured: about one lost per node and join).

Two nodes whose beats still meet (their phases drift with each call's
duration) stay together: the loser retries at once, and both beat again
together an interval later, every interval. So a beat that lost its
compare-and-set draws its phase again (`redraw`): the next beat is delayed
like a first one. Measured on etcd-v3 with 8 and 16 nodes (keep-alive every
1 s), those pairs made 0.04 lost compare-and-sets per node per interval,
against none for polling nodes.

A first beat is late by at most one interval (`spread_for`), and always at
least half an interval inside torch's ``keep_alive_interval x
keep_alive_max_attempt`` (three intervals by default) before a node counts
as dead. Stopping the heartbeats (a new join, shutdown)
ends a pending delay at once, so no one waits for it.
"""

from __future__ import annotations

import random
import threading

SPREAD = 0.5
"""The first beat is delayed by up to this fraction of ``keep_alive_interval`` (where the
settings are not known; `spread_for` where they are)."""


def spread_for(max_attempt: int) -> float:
    """The widest spread (in intervals, at most one) that keeps a delayed first beat at least
    half an interval inside torch's expiry.

    torch's timer beats one interval after the join, the delay adds up to the spread, and
    torch takes a node for dead once its last beat is ``max_attempt`` intervals old: with
    torch's 3 attempts, a whole interval (the beats of a group spread as wide as polling
    nodes' do; with half of one, 16 etcd-v3 nodes still lost 0.04 beats per node and
    interval to each other); with 2, half.
    """
    return max(0.0, min(1.0, max_attempt - 1.5))


class HeartbeatPhase:
    """Delays the first beat after each start by a random part of the interval."""

    def __init__(self, interval: float, spread: float = SPREAD) -> None:
        self._interval = interval
        self._spread = spread
        self._stopped = threading.Event()
        self._first = True
        self._lock = threading.Lock()
        self.delayed = False
        """Whether the beat `may_beat` last allowed was a delayed first beat."""

    def start(self) -> None:
        """The heartbeats (re)start: the next beat is a first beat again."""
        with self._lock:
            self._first = True
            self._stopped.clear()

    def stop(self) -> None:
        """The heartbeats stop: a first beat still waiting gives up at once."""
        self._stopped.set()

    def redraw(self) -> None:
        """A beat lost its compare-and-set to another node's: delay the next one like a
        first beat, so that the two part."""
        with self._lock:
            self._first = True

    def may_beat(self) -> bool:
        """Before a beat: wait out the first beat's delay; False when stopped meanwhile."""
        with self._lock:
            first, self._first = self._first, False
        self.delayed = first
        if first:
            return not self._stopped.wait(random.uniform(0, self._spread * self._interval))
        return not self._stopped.is_set()
