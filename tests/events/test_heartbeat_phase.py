"""Keep-alive beats after an event-driven join: spread over the interval, never held up.

Unit tests of `HeartbeatPhase` with real threads (only ``random.uniform``, the
draw this is about, is fixed), then real torch handlers on a real TCPStore.
"""

from __future__ import annotations

import pickle
import threading
import time
import weakref
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from rendezvous_di.backends.events import heartbeat_phase
from rendezvous_di.backends.events.heartbeat_phase import HeartbeatPhase
from tests.support.events import c10d_containers, meet


def _drawing(monkeypatch: pytest.MonkeyPatch, fraction: float) -> list[tuple[float, float]]:
    """Make every draw ``fraction`` of its range; the ranges asked for are returned."""
    asked: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        asked.append((low, high))
        return low + fraction * (high - low)

    monkeypatch.setattr(heartbeat_phase.random, "uniform", uniform)
    return asked


def test_only_the_first_beat_after_a_start_is_delayed(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _drawing(monkeypatch, 1.0)
    phase = HeartbeatPhase(interval=0.4)
    started = time.monotonic()
    assert phase.may_beat()
    first = time.monotonic() - started
    assert phase.delayed  # the executor makes this beat read the state afresh
    assert asked == [(0, 0.2)]  # at most half the interval
    assert first >= 0.2
    assert phase.may_beat()
    assert not phase.delayed
    assert phase.may_beat()
    assert asked == [(0, 0.2)]  # later beats keep the phase: no new draw, no wait
    phase.start()  # a new join
    assert phase.may_beat()
    assert asked == [(0, 0.2), (0, 0.2)]


def test_stopping_ends_a_pending_first_beat_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    _drawing(monkeypatch, 1.0)
    phase = HeartbeatPhase(interval=3600.0)  # a 30-minute delay, unless stop ends it
    answers: list[bool] = []
    beat = threading.Thread(target=lambda: answers.append(phase.may_beat()))
    beat.start()
    time.sleep(0.1)
    phase.stop()
    beat.join(timeout=30)
    assert not beat.is_alive()
    assert answers == [False]
    assert not phase.may_beat()  # stopped: no beat until started again
    phase.start()
    _drawing(monkeypatch, 0.0)
    assert phase.may_beat()


def test_torchs_timer_keeps_beating_through_the_phase(store_server: Any) -> None:
    """torch's keep-alive timer calls the phased beat (an instance attribute), which beats."""
    group = c10d_containers(store_server, 3, {"keep_alive_interval": 1}, "phased")
    handlers = [c.handler() for c in group]
    beats: dict[int, list[float]] = {i: [] for i in range(3)}
    for index, handler in enumerate(handlers):
        torch_keep_alive = handler._keep_alive

        def counted(index: int = index, torch_keep_alive: Any = torch_keep_alive) -> None:
            beats[index].append(time.monotonic())
            torch_keep_alive()

        handler._keep_alive = counted  # what torch's timer calls, through the phase
    try:
        assert meet(handlers) == [(0, 3), (1, 3), (2, 3)]
        # The interval torch really uses: torch 2.6's from_backend fixes it at 5 s.
        interval = handlers[0]._settings.keep_alive_interval.total_seconds()
        deadline = time.monotonic() + 3 * interval + 2  # a phase of at most half, two beats
        while time.monotonic() < deadline and not all(len(t) >= 2 for t in beats.values()):
            time.sleep(0.1)
        assert all(len(times) >= 2 for times in beats.values()), beats
        holders = [h._state_holder for h in handlers]
        for holder in holders:
            holder.sync()
        nodes = {str(n) for n in holders[0].state.last_heartbeats}
        assert len(nodes) == 3  # every node's beat reached the shared state
    finally:
        for container in group:
            container.shutdown_resources()


def test_shutdown_is_not_held_by_a_pending_first_beat(store_server: Any) -> None:
    """keep_alive_interval=600 s: a first beat may wait up to 300 s; shutdown must not."""
    (container,) = c10d_containers(store_server, 1, {"keep_alive_interval": 600}, "held")
    handler = container.handler()
    assert meet([handler]) == [(0, 1)]
    done = threading.Event()
    closing = threading.Thread(target=lambda: (container.shutdown_resources(), done.set()))
    closing.start()
    closing.join(timeout=60)
    assert done.is_set()
    assert not any(t.name.startswith("RendezvousKeepAliveTimer") for t in threading.enumerate())


def test_a_beat_that_lost_its_compare_and_set_draws_its_phase_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two nodes whose beats meet would meet every interval: the loser parts from the other.

    torch's handler is stood in for (the boundary under test is `_dephased`'s wrapping of
    its ``_keep_alive``); its beats lose as scripted, counted where the real backend counts.
    """
    from rendezvous_di.backends.events.executor import _dephased

    asked = _drawing(monkeypatch, 0.0)  # no wait, but every draw is seen
    loses = iter([False, True, False, False])

    class Handler:
        def __init__(self) -> None:
            self._settings = SimpleNamespace(keep_alive_interval=timedelta(seconds=1))
            self._state_holder = SimpleNamespace(_backend=SimpleNamespace(lost=0))

        def _keep_alive(self) -> None:
            if next(loses):
                self._state_holder._backend.lost += 1

        def _start_heartbeats(self) -> None:
            pass

        def _stop_heartbeats(self) -> None:
            pass

    handler = Handler()
    keep_alive, start_heartbeats, _ = _dephased(handler)
    ref = weakref.ref(handler)
    start_heartbeats(ref)
    draws = []
    for _ in range(4):
        keep_alive(ref)
        draws.append(len(asked))
    # The first beat draws; the second loses; the third is delayed again; the fourth is not.
    assert draws == [1, 1, 2, 2]


def test_the_backend_counts_the_writes_that_lost(store_server: Any) -> None:
    # Beats in the state: a beat is a compare-and-set there (with keys it would not be).
    group = c10d_containers(store_server, 2, {"heartbeats": "state"}, "lost")
    handlers = [c.handler() for c in group]
    try:
        assert meet(handlers) == [(0, 2), (1, 2)]
        backend = handlers[0]._state_holder._backend
        assert backend.lost == 0  # the turnstile: no join lost its race
        state, token = backend.get_state()
        beat = pickle.loads(state)  # a beat of node 0's, as torch would write it
        node = next(iter(beat.last_heartbeats))
        beat.last_heartbeats[node] += timedelta(seconds=1)
        assert backend.set_state(pickle.dumps(beat), token)[2]  # won: the token was current
        assert not backend.set_state(state, token)[2]  # lost: the token is stale now
        assert backend.lost == 1
    finally:
        for container in group:
            container.shutdown_resources()


@pytest.mark.parametrize(("attempts", "spread"), [(1, 0.0), (2, 0.5), (3, 1.0), (10, 1.0)])
def test_the_spread_keeps_a_first_beat_half_an_interval_inside_torchs_expiry(
    attempts: int, spread: float
) -> None:
    assert heartbeat_phase.spread_for(attempts) == spread
    # torch's timer beats one interval after the join; the latest first beat is then
    # 1 + spread intervals old at most, half an interval or more before the expiry.
    assert attempts == 1 or 1 + spread <= attempts - 0.5
