"""Heartbeats in keys of their own, on a real TCPStore with torch's own handlers.

The shared state stays as the join left it while every node keeps beating; a node
that stops beating is dropped as torch drops it; ``heartbeats=state`` is torch's.
"""

from __future__ import annotations

import base64
import pickle
import time
from datetime import timedelta
from typing import Any

import torch.distributed as dist

from tests.support.events import c10d_containers, meet

INTERVAL = 1  # keep_alive_interval, seconds
ATTEMPTS = 3


def client(server: Any) -> Any:
    return dist.TCPStore(  # type: ignore[attr-defined]
        "127.0.0.1", server.port, is_master=False, timeout=timedelta(seconds=30)
    )


def stored(store: Any, run_id: str) -> Any:
    """The state as the store holds it (torch's c10d backend: base64 of the pickle)."""
    return pickle.loads(base64.b64decode(store.get(f"torch.rendezvous.{run_id}")))


def group(server: Any, run_id: str, heartbeats: str) -> tuple[list[Any], list[Any]]:
    conf = {
        "keep_alive_interval": INTERVAL,
        "keep_alive_max_attempt": ATTEMPTS,
        "heartbeats": heartbeats,
    }
    containers = c10d_containers(server, 3, conf, run_id)
    return containers, [c.handler() for c in containers]


def test_beats_go_to_keys_and_the_state_is_not_rewritten(store_server: Any) -> None:
    store = client(store_server)
    containers, handlers = group(store_server, "keyed", "keys")
    try:
        assert meet(handlers) == [(0, 3), (1, 3), (2, 3)]
        time.sleep(INTERVAL * 2)  # past the first (phased) beats
        before = store.get("torch.rendezvous.keyed")
        beats = {k: store.get(k) for k in beat_keys("keyed", stored(store, "keyed"))}
        time.sleep(INTERVAL * 2.5)
        assert store.get("torch.rendezvous.keyed") == before  # no beat rewrote the state
        later = {k: store.get(k) for k in beats}
        assert all(float(later[k]) > float(beats[k]) for k in beats), (beats, later)
        # What torch's handler reads: every node's time fresh, from the keys.
        holder = handlers[0]._state_holder
        holder._last_sync_time = -1.0
        holder.sync()
        now = time.time()
        for last in holder.state.last_heartbeats.values():
            assert now - _seconds(last) < INTERVAL * 2
    finally:
        for container in containers:
            container.shutdown_resources()


def test_state_heartbeats_are_torchs_own(store_server: Any) -> None:
    store = client(store_server)
    containers, handlers = group(store_server, "in-state", "state")
    try:
        assert meet(handlers) == [(0, 3), (1, 3), (2, 3)]
        before = store.get("torch.rendezvous.in-state")
        time.sleep(INTERVAL * 3)
        assert store.get("torch.rendezvous.in-state") != before
        keys = beat_keys("in-state", stored(store, "in-state"))
        assert len(keys) == 3
        assert not any(store.check([key]) for key in keys)
    finally:
        for container in containers:
            container.shutdown_resources()


def test_a_node_that_stops_beating_is_dropped_as_torch_drops_it(store_server: Any) -> None:
    store = client(store_server)
    containers, handlers = group(store_server, "silent", "keys")
    try:
        assert meet(handlers) == [(0, 3), (1, 3), (2, 3)]
        silent = handlers[2]
        silent_node = silent._this_node
        silent._stop_heartbeats()  # its agent is gone: no more beats
        deadline = time.monotonic() + INTERVAL * ATTEMPTS + INTERVAL * 4
        while time.monotonic() < deadline:
            if silent_node not in stored(store, "silent").participants:
                break
            time.sleep(0.2)
        state = stored(store, "silent")
        assert silent_node not in state.participants  # a survivor's write removed it
        assert set(state.participants) == {h._this_node for h in handlers[:2]}
    finally:
        for container in containers:
            container.shutdown_resources()


def beat_keys(run_id: str, state: Any) -> list[str]:
    return [f"torch.rendezvous.{run_id}/beats/{node!r}" for node in state.last_heartbeats]


def _seconds(when: Any) -> float:
    from datetime import UTC

    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return float(when.timestamp())


def test_a_node_on_plain_torch_keeps_seeing_keyed_nodes_alive(store_server: Any) -> None:
    """Mixed jobs: a handler of torch's own (it beats in the state and reads only the state)
    with two of ours. While the state names a node without a key, ours beat in the state too,
    so torch's node never takes them for dead.

    Five attempts, not three: under the whole suite's load a beat of torch's own timer
    came more than 3 s after the last (every node dropped but one), which says nothing of
    where beats go; the check still waits past the expiry."""
    attempts = 5
    from torch.distributed.elastic.rendezvous import RendezvousParameters
    from torch.distributed.elastic.rendezvous.registry import get_rendezvous_handler

    store = client(store_server)
    containers = c10d_containers(
        store_server,
        3,
        {"keep_alive_interval": INTERVAL, "keep_alive_max_attempt": attempts},
        "mixed",
    )[:2]  # of a 3-node rendezvous; torch's handler is the third
    torchs = get_rendezvous_handler(
        RendezvousParameters(
            backend="c10d",
            endpoint=f"127.0.0.1:{store_server.port}",
            run_id="mixed",
            min_nodes=3,
            max_nodes=3,
            is_host=False,
            join_timeout=60,
            keep_alive_interval=INTERVAL,
            keep_alive_max_attempt=attempts,
        )
    )
    handlers = [*(c.handler() for c in containers), torchs]
    try:
        assert sorted(meet(handlers)) == [(0, 3), (1, 3), (2, 3)]
        time.sleep(INTERVAL * (attempts + 2))  # long past torch's expiry without beats
        holder = torchs._state_holder
        holder._last_sync_time = -1.0
        holder.sync()
        assert len(holder.state.participants) == 3
        assert len(stored(store, "mixed").participants) == 3
    finally:
        torchs.shutdown()
        for container in containers:
            container.shutdown_resources()
