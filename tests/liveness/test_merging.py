"""Merging beats into torch's state: which nodes are asked about, and what torch then reads."""

from __future__ import annotations

import pickle
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from torch.distributed.elastic.rendezvous.dynamic_rendezvous import _NodeDesc, _RendezvousState

from rendezvous_di.backends.liveness.beats import GONE
from rendezvous_di.backends.liveness.merging import Merger, node_name

NODES = [_NodeDesc("host", pid, 0) for pid in (1, 2, 3)]
NAMES = [node_name(n) for n in NODES]


def state(age: float) -> bytes:
    """Three participants whose times in the state are ``age`` seconds old."""
    made = _RendezvousState()
    when = datetime.now(UTC) - timedelta(seconds=age)
    for rank, node in enumerate(NODES):
        made.participants[node] = rank
        made.last_heartbeats[node] = when
    return pickle.dumps(made)


class Store:
    """What a store's `Beats.read` answers, and who was asked about."""

    def __init__(self, beats: Mapping[str, float]) -> None:
        self.beats = dict(beats)
        self.asked: list[list[str]] = []

    def read(self, names: list[str]) -> Mapping[str, float]:
        self.asked.append(sorted(names))
        return {n: self.beats[n] for n in names if n in self.beats}


def times(bits: bytes) -> list[float]:
    beats = pickle.loads(bits).last_heartbeats
    return [beats[n].timestamp() for n in NODES]


def test_lasting_beats_are_asked_about_once_then_as_they_near_the_expiry() -> None:
    now = time.time()
    store = Store({name: now for name in NAMES})
    merger = Merger(store.read, good_for=10.0)
    merged = merger.merge(state(age=60))
    assert merged is not None
    bits, named, keyed = merged
    assert (named, keyed) == (3, 3)
    assert all(abs(t - now) < 1e-3 for t in times(bits))  # torch reads the beats' times
    assert store.asked == [NAMES]  # all three, first seen
    assert merger.merge(state(age=60)) is not None
    assert store.asked == [NAMES]  # known and young: nobody asked again
    store.beats = {name: now - 11 for name in NAMES}
    merger = Merger(store.read, good_for=10.0)
    merger.merge(state(age=60))
    merger.merge(state(age=60))
    assert store.asked[-2:] == [NAMES, NAMES]  # older than good_for: asked every read


def test_a_fresh_state_is_handed_over_without_a_read() -> None:
    store = Store({})
    assert Merger(store.read, 0.0).merge(state(age=0), fresh_since=time.time() - 5) is None
    assert store.asked == []


def test_a_gone_node_gets_the_epoch_and_the_reader_keeps_its_own_time() -> None:
    now = time.time()
    store = Store({NAMES[0]: now, NAMES[1]: GONE, NAMES[2]: now})
    own = (NAMES[2], now - 3)  # this node beat 3 s ago: torch must see that, not "now"
    merged = Merger(store.read, 0.0).merge(state(age=60), own=own)
    assert merged is not None
    first, gone, mine = times(merged[0])
    assert abs(first - now) < 1e-3
    assert gone == datetime(1970, 1, 1, tzinfo=UTC).timestamp()  # torch drops it at once
    assert abs(mine - (now - 3)) < 1e-3
    assert NAMES[2] not in store.asked[0]


def test_a_node_without_a_key_keeps_its_state_time_and_is_asked_again() -> None:
    now = time.time()
    store = Store({NAMES[0]: now, NAMES[1]: now})  # NAMES[2]: a node of plain torch
    merger = Merger(store.read, good_for=10.0)
    merged = merger.merge(state(age=4))
    assert merged is not None
    bits, named, keyed = merged
    assert (named, keyed) == (3, 2)  # not every node keyed: beats also go to the state
    assert abs(times(bits)[2] - (now - 4)) < 0.5
    merger.merge(state(age=4))
    assert store.asked[-1] == [NAMES[2]]
