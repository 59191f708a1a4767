"""Heartbeats on leases, on real etcd 3.4 and 3.5 with torch's own handlers.

A beat is a keep-alive of the node's liveness lease: the state is not rewritten
while every node lives; a node whose lease ends is gone for every reader at
once; a node that is only slow keeps its place while its lease lives.
"""

from __future__ import annotations

import base64
import pickle
import time
import uuid
from typing import Any

from pytest_mock import MockerFixture

from tests.support import events
from tests.support.etcd_server import EtcdServer, b64, v3_call
from tests.support.events import meet, silence

INTERVAL = 1  # keep_alive_interval, seconds
ATTEMPTS = 3  # the liveness lease's TTL: 3 s
CONF = {
    "join_timeout": 120,
    "last_call_timeout": 1,
    "keep_alive_interval": INTERVAL,
    "keep_alive_max_attempt": ATTEMPTS,
    "lease_ttl": 30,
}


def group(
    server: EtcdServer, heartbeats: str, attempts: int = ATTEMPTS
) -> tuple[str, list[Any], list[Any]]:
    run_id = f"beats-{uuid.uuid4().hex[:8]}"
    conf = {**CONF, "heartbeats": heartbeats, "keep_alive_max_attempt": attempts}
    containers = events.containers("etcd-v3", server.endpoint, run_id, 3, conf)
    return run_id, containers, [c.handler() for c in containers]


def root(run_id: str) -> bytes:
    return f"/torch/elastic/rendezvous/{run_id}/".encode()


def state_kv(server: EtcdServer, run_id: str) -> dict[str, Any]:
    answer = v3_call(server, "kv/range", {"key": b64(root(run_id) + b"state")})
    kvs = answer.get("kvs")
    assert isinstance(kvs, list), answer
    assert kvs, answer
    kv: dict[str, Any] = kvs[0]
    return kv


def stored(server: EtcdServer, run_id: str) -> Any:
    return pickle.loads(base64.b64decode(state_kv(server, run_id)["value"]))


def keys_under(server: EtcdServer, prefix: bytes) -> set[str]:
    end = prefix[:-1] + bytes([prefix[-1] + 1])
    body = {"key": b64(prefix), "range_end": b64(end), "keys_only": True}
    kvs = v3_call(server, "kv/range", body).get("kvs") or []
    assert isinstance(kvs, list)
    return {base64.b64decode(kv["key"])[len(prefix) :].decode() for kv in kvs}


def close(containers: list[Any]) -> None:
    for container in containers:
        container.shutdown_resources()


def test_beats_keep_leases_alive_and_the_state_is_not_rewritten(
    etcd_v3_server: EtcdServer,
) -> None:
    run_id, containers, handlers = group(etcd_v3_server, "keys")
    try:
        assert meet(handlers) == [(0, 3), (1, 3), (2, 3)]
        names = {repr(h._this_node) for h in handlers}
        assert keys_under(etcd_v3_server, root(run_id) + b"alive/") == names  # rode the joins
        assert keys_under(etcd_v3_server, root(run_id) + b"members/") == names
        time.sleep(INTERVAL * 2)  # past the first (phased) beats
        revision = state_kv(etcd_v3_server, run_id)["mod_revision"]
        time.sleep(INTERVAL * ATTEMPTS * 1.5)  # every beat's due, and the state's times stale
        assert state_kv(etcd_v3_server, run_id)["mod_revision"] == revision  # no beat wrote it
        assert keys_under(etcd_v3_server, root(run_id) + b"alive/") == names  # leases live
        # What torch's handler reads: all three alive, though their times in etcd are old.
        holder = handlers[0]._state_holder
        holder._last_sync_time = -1.0
        holder.sync()
        assert set(holder.state.participants) == {h._this_node for h in handlers}
    finally:
        close(containers)


def test_a_node_whose_lease_ends_is_dropped_and_a_survivor_writes_it_out(
    etcd_v3_server: EtcdServer,
) -> None:
    run_id, containers, handlers = group(etcd_v3_server, "keys")
    try:
        assert meet(handlers) == [(0, 3), (1, 3), (2, 3)]
        gone = handlers[2]
        silence(gone)  # its agent is gone: its liveness lease is not kept alive
        name = repr(gone._this_node)
        deadline = time.monotonic() + 60
        while gone._this_node in stored(etcd_v3_server, run_id).participants:
            assert time.monotonic() < deadline, "the silent node was never dropped"
            time.sleep(0.2)
        assert name not in keys_under(etcd_v3_server, root(run_id) + b"alive/")
        assert name in keys_under(etcd_v3_server, root(run_id) + b"members/")  # so: gone
        survivors = {h._this_node for h in handlers[:2]}
        assert set(stored(etcd_v3_server, run_id).participants) == survivors
    finally:
        close(containers)


def test_a_node_slower_than_its_interval_but_inside_its_lease_keeps_its_place(
    etcd_v3_server: EtcdServer,
) -> None:
    """Everything that beats for it stalls two intervals at a time (a GC pause, a stalled
    disk): torch's beats and the loop that keeps its lease alive, inside a 4 s lease. It is
    never dropped."""
    run_id, containers, handlers = group(etcd_v3_server, "keys", attempts=4)
    try:
        assert meet(handlers) == [(0, 3), (1, 3), (2, 3)]
        slow = handlers[2]
        for _ in range(3):
            # torch's keep-alive waits for the first, the lease's keeper for the second
            with slow._heartbeat_lock, slow._etcd_beating._beats._lock:
                time.sleep(INTERVAL * 2)
            time.sleep(INTERVAL * 0.5)
        nodes = {h._this_node for h in handlers}
        assert set(stored(etcd_v3_server, run_id).participants) == nodes
        holder = handlers[0]._state_holder
        holder._last_sync_time = -1.0
        holder.sync()
        assert set(holder.state.participants) == nodes
    finally:
        close(containers)


def test_state_heartbeats_put_no_keys_and_rewrite_the_state(etcd_v3_server: EtcdServer) -> None:
    run_id, containers, handlers = group(etcd_v3_server, "state")
    try:
        assert meet(handlers) == [(0, 3), (1, 3), (2, 3)]
        revision = state_kv(etcd_v3_server, run_id)["mod_revision"]
        time.sleep(INTERVAL * 3)
        assert state_kv(etcd_v3_server, run_id)["mod_revision"] != revision
        assert keys_under(etcd_v3_server, root(run_id) + b"alive/") == set()
    finally:
        close(containers)


def test_the_lowest_ranked_survivor_writes_a_gone_node_out_when_its_lease_ends(
    etcd_v3_server: EtcdServer, mocker: MockerFixture
) -> None:
    """The watch on ``alive/`` hears the lease end; the survivor of lowest rank runs torch's
    keep-alive at once (made due), on the watch's thread, and its write drops the node; the
    others write nothing.

    The survivors' own keep-alive timers are idled while the lease ends (they tick, and do
    nothing), so only the watch can write the node out: it must, and on its own thread.
    """
    import threading

    from rendezvous_di.backends.etcd_v3.backend import EtcdV3RendezvousBackend
    from rendezvous_di.backends.liveness.beating import BeatingBackend

    beat_now = mocker.spy(BeatingBackend, "beat_now")
    writes: list[tuple[Any, str, Any]] = []  # (backend, thread, the state written)
    set_state = EtcdV3RendezvousBackend.set_state

    def record(self: Any, state: bytes, token: Any = None) -> Any:
        answer = set_state(self, state, token)
        if answer is not None and answer[2]:
            writes.append((self, threading.current_thread().name, pickle.loads(state)))
        return answer

    mocker.patch.object(EtcdV3RendezvousBackend, "set_state", record)
    run_id, containers, handlers = group(etcd_v3_server, "keys", attempts=4)
    try:
        assert meet(handlers) == [(0, 3), (1, 3), (2, 3)]
        time.sleep(INTERVAL * 2.5)  # steady: every node beat once more, and watches
        by_rank = sorted(handlers, key=lambda h: h._state_holder.state.participants[h._this_node])
        gone, survivors = by_rank[0], by_rank[1:]  # rank 1 is then the lowest survivor
        silence(gone)
        timers = [h._keep_alive_timer._ctx for h in survivors]
        kept = [timer.function for timer in timers]
        for timer in timers:
            timer.function = lambda *args, **kwargs: None  # ticks, does nothing
        time.sleep(INTERVAL * 1.5)  # a tick already under way ends
        writes.clear()  # the formation's, and the beats' before
        lease = gone._etcd_beating._beats._lease
        v3_call(etcd_v3_server, "lease/revoke", {"ID": str(lease)})  # its lease ends now
        deadline = time.monotonic() + 20  # nothing reads the state meanwhile: inside lease_ttl
        while gone._this_node in stored(etcd_v3_server, run_id).participants:
            assert time.monotonic() < deadline, "the gone node was never written out"
            time.sleep(0.05)
        for timer, function in zip(timers, kept, strict=True):
            timer.function = function
        writers = {call.args[0] for call in beat_now.call_args_list}
        lowest = survivors[0]._state_holder._backend
        while not isinstance(lowest, BeatingBackend):  # under the event-driven waiting's
            lowest = lowest._backend
        assert writers == {lowest}
        assert [(backend, thread) for backend, thread, _ in writes] == [
            (lowest._backend, "rendezvous-di-beats")  # the watch's own thread
        ]
        assert set(writes[0][2].participants) == {h._this_node for h in survivors}
    finally:
        close(containers)


def test_once_steady_reads_take_the_beats_from_the_watch_not_from_etcd(
    etcd_v3_server: EtcdServer, mocker: MockerFixture
) -> None:
    """Each state read (torch's agent reads once a second) would otherwise range over every
    node's key: the watch on alive/ keeps them, and a read asks etcd for the state only."""
    from rendezvous_di.backends.etcd_v3.client import EtcdClient

    _, containers, handlers = group(etcd_v3_server, "keys")
    try:
        assert meet(handlers) == [(0, 3), (1, 3), (2, 3)]
        time.sleep(INTERVAL * ATTEMPTS)  # steady: the first beats made, the watches run
        beats = handlers[0]._etcd_beating._beats
        assert beats._view == {repr(h._this_node) for h in handlers}  # the watch's
        txns = mocker.spy(EtcdClient, "txn")
        holder = handlers[0]._state_holder
        for _ in range(3):
            holder._last_sync_time = -1.0
            holder.sync()
        ours = [c for c in txns.call_args_list if c.args[0] is handlers[0]._etcd_session.client]
        assert ours == []  # no range over alive/ (nor a members look-up)
        assert set(holder.state.participants) == {h._this_node for h in handlers}
    finally:
        close(containers)


def _etcd_session(server: EtcdServer, lease_ttl: int) -> Any:
    from rendezvous_di.backends.etcd_v3.client import EtcdClient
    from rendezvous_di.backends.etcd_v3.endpoints import parse_endpoints
    from rendezvous_di.backends.etcd_v3.session import RunSession

    client = EtcdClient(parse_endpoints(server.endpoint))
    return RunSession(client, "/torch/elastic/rendezvous", f"s-{uuid.uuid4().hex[:8]}", lease_ttl)


def test_many_nodes_whose_leases_ended_at_once_are_read_in_one_transaction(
    etcd_v3_server: EtcdServer,
) -> None:
    """80 nodes missing from alive/ (a host of agents lost at once): two look-ups each would
    be 160 operations, past etcd's limit of 128 in a transaction."""
    from rendezvous_di.backends.etcd_v3.beats import LOOKUPS_PER_TXN, EtcdBeats
    from rendezvous_di.backends.liveness.beats import GONE

    session = _etcd_session(etcd_v3_server, 30)
    beats = EtcdBeats(session, 15)
    names = [f"node{i}" for i in range(120)]
    for index, name in enumerate(names[:100]):  # members; the first 40 alive too
        v3_call(etcd_v3_server, "kv/put", {"key": b64(session.root + b"members/" + name.encode())})
        if index < 40:
            v3_call(
                etcd_v3_server, "kv/put", {"key": b64(session.root + b"alive/" + name.encode())}
            )
    assert LOOKUPS_PER_TXN < 2 * 80
    found = beats.read(names)
    assert {name for name, at in found.items() if at != GONE} == set(names[:40])
    assert {name for name, at in found.items() if at == GONE} == set(names[40:100])
    assert set(found) == set(names[:100])  # the last 20 have no key: torch's nodes
    few = beats.read([*names[38:42], "node119"])  # a few missing: a count per key
    assert [few.get(n) == GONE for n in [*names[38:42], "node119"]] == [
        False,
        False,
        True,
        True,
        False,
    ]
    assert "node119" not in few


def test_the_state_outlives_the_lease_of_the_node_that_wrote_it_last(
    etcd_v3_server: EtcdServer,
) -> None:
    """With heartbeats in keys nobody rewrites the state while membership stays; its last
    writer may leave the round and exit. The readers keep its lease alive with their own."""
    from rendezvous_di.backends.etcd_v3.backend import EtcdV3RendezvousBackend

    writer = _etcd_session(etcd_v3_server, 3)
    reader = _etcd_session(etcd_v3_server, 3)
    reader.root, reader.state_key = writer.root, writer.state_key
    assert EtcdV3RendezvousBackend(writer).set_state(b"state") is not None
    backend = EtcdV3RendezvousBackend(reader)
    assert backend.get_state() is not None
    assert reader.state_lease == writer.lease() != reader.lease()
    deadline = time.monotonic() + 3 * 3  # three of the writer's TTLs; it never refreshes
    while time.monotonic() < deadline:
        reader.lease()  # what every read does: its own lease, and the state's
        time.sleep(0.3)
    kv = state_kv(etcd_v3_server, writer.root.decode().split("/")[-2])
    assert base64.b64decode(kv["value"]) == b"state"
    assert int(kv["lease"]) == writer.lease()


def test_a_node_that_waited_longer_than_its_liveness_lease_still_joins(
    etcd_v3_server: EtcdServer,
) -> None:
    """Its first read placed its keys; its turn to join came after the lease had ended (a
    long turnstile, a round in progress): the join refreshes the lease as it is made."""
    from rendezvous_di.backends.etcd_v3.backend import EtcdV3RendezvousBackend
    from rendezvous_di.backends.etcd_v3.beats import EtcdBeats

    session = _etcd_session(etcd_v3_server, 30)
    beats = EtcdBeats(session, 2)
    beats.ensure("node0")
    time.sleep(3.5)  # the liveness lease (2 s) ends
    assert EtcdV3RendezvousBackend(session).set_state(b"joined") is not None
    alive = session.root + b"alive/node0"
    kvs = v3_call(etcd_v3_server, "kv/range", {"key": b64(alive)}).get("kvs")
    assert isinstance(kvs, list)
    assert len(kvs) == 1
    ttl = v3_call(etcd_v3_server, "lease/timetolive", {"ID": kvs[0]["lease"]})
    assert int(str(ttl["TTL"])) > 0


def test_a_view_the_watch_left_behind_is_set_right_and_a_right_one_costs_no_keys(
    etcd_v3_server: EtcdServer, mocker: MockerFixture
) -> None:
    """Every half lease the watch's view is checked: keys newer than it, and the count of all
    (a deletion it missed shows as one key too few); a full read only when it was wrong."""
    from rendezvous_di.backends.etcd_v3.beats import EtcdBeats
    from rendezvous_di.backends.liveness.beats import GONE

    session = _etcd_session(etcd_v3_server, 30)
    beats = EtcdBeats(session, 2)  # trusted for 1 s
    names = ["n0", "n1", "n2"]
    revision = 0
    for name in names:
        for prefix in (b"members/", b"alive/"):
            put = v3_call(
                etcd_v3_server, "kv/put", {"key": b64(session.root + prefix + name.encode())}
            )
            revision = int(put["header"]["revision"])  # type: ignore[index]
    beats._view, beats._view_revision, beats._view_read = frozenset(names), revision, 0.0
    v3_call(etcd_v3_server, "kv/deleterange", {"key": b64(session.root + b"alive/n1")})
    v3_call(etcd_v3_server, "kv/put", {"key": b64(session.root + b"alive/n3")})  # one newer
    calls = mocker.spy(beats._client, "call")
    found = beats.read([*names, "n3"])
    assert found["n1"] == GONE  # the deletion the view missed
    assert {n for n, at in found.items() if at != GONE} == {"n0", "n2", "n3"}
    assert beats._view == {"n0", "n2", "n3"}
    ranges = [c for c in calls.call_args_list if c.args[0] == "kv/range"]
    assert len(ranges) == 2  # the check, then the whole read
    calls.reset_mock()
    beats._view_read = 0.0  # half a lease later: the view is right
    assert beats.read(["n0", "n2", "n3"]).keys() == {"n0", "n2", "n3"}
    assert len(calls.call_args_list) == 1
    assert calls.spy_return.get("kvs") in (None, [])  # nothing newer: no key came back


def test_stopping_the_heartbeats_waits_for_a_drop_under_way(
    etcd_v3_server: EtcdServer, mocker: MockerFixture
) -> None:
    """A lease that ends as the survivors re-join (their workers fail at once when a host
    dies): the drop runs torch's keep-alive on the watch's thread, and ``next_rendezvous``
    must not start torch's operations on the same state holder until it is done, as torch's
    ``_stop_heartbeats`` waits for its own timer's keep-alive."""
    import threading

    from rendezvous_di.backends.liveness.beating import BeatingBackend

    _, containers, handlers = group(etcd_v3_server, "keys")
    try:
        assert meet(handlers) == [(0, 3), (1, 3), (2, 3)]
        time.sleep(INTERVAL * 2.5)  # steady
        by_rank = sorted(handlers, key=lambda h: h._state_holder.state.participants[h._this_node])
        lowest = by_rank[0]
        beating = lowest._state_holder._backend
        while not isinstance(beating, BeatingBackend):
            beating = beating._backend
        inside, spans = threading.Event(), []
        keep_alive = type(lowest)._keep_alive

        def slow(self: Any) -> None:  # the drop's keep-alive takes a while (a slow store)
            if threading.current_thread().name == "drop":
                inside.set()
                time.sleep(1.0)
                keep_alive(self)
                spans.append(time.monotonic())
            else:
                keep_alive(self)

        mocker.patch.object(type(lowest), "_keep_alive", slow)
        name = repr(by_rank[2]._this_node)  # told gone: the lowest writes it out
        drop = threading.Thread(
            target=beating._gone, args=(name, beating._seen, beating.beat_now), name="drop"
        )
        drop.start()
        assert inside.wait(10)
        lowest._stop_heartbeats()  # what next_rendezvous does first
        stopped = time.monotonic()
        drop.join(10)
        assert spans, "the drop did not run"
        assert stopped >= spans[0]  # the drop had ended before the stop returned
    finally:
        close(containers)


def test_a_live_node_keeps_its_lease_without_torchs_beats_and_a_closed_one_lets_it_end(
    etcd_v3_server: EtcdServer,
) -> None:
    """torch's beats land up to two intervals apart (more on a loaded host), and none come
    inside ``next_rendezvous``; a lease kept alive by them alone ended under live nodes (256
    simulated agents on 2 cores: beats 12 s apart, lease 15 s), and the others dropped them.
    Its own loop keeps it alive while the node lives, and the session's lease (its other keys)
    too; once its handler closes, it ends."""
    from datetime import UTC, datetime

    from torch.distributed.elastic.rendezvous.dynamic_rendezvous import (
        _NodeDesc,
        _RendezvousState,
    )

    from rendezvous_di.backends.etcd_v3.backend import EtcdV3RendezvousBackend
    from rendezvous_di.backends.etcd_v3.beats import EtcdBeats
    from rendezvous_di.backends.liveness.beating import BeatingBackend

    session = _etcd_session(etcd_v3_server, 3)  # its session's lease: 3 s
    node = _NodeDesc("10.0.0.1", 1, 0)
    beats = EtcdBeats(session, 2)
    backend = BeatingBackend(EtcdV3RendezvousBackend(session), beats)
    backend.attach(lambda: node, 1.0, 2)
    joined = _RendezvousState()
    joined.participants[node] = 0
    joined.last_heartbeats[node] = datetime.now(UTC)
    assert backend.get_state() is None  # its first read: its keys wait for its join
    written = backend.set_state(pickle.dumps(joined))  # the join: its keys ride on it
    assert written is not None
    assert written[2]
    alive = session.root + b"alive/" + repr(node).encode()
    lease = beats._lease
    time.sleep(5.0)  # no beat, no write, for 2.5 leases of 2 s
    kvs = v3_call(etcd_v3_server, "kv/range", {"key": b64(alive)}).get("kvs")
    assert isinstance(kvs, list)
    assert len(kvs) == 1
    assert int(kvs[0]["lease"]) == lease  # the same lease all along: it never ended
    members = session.root + b"members/" + repr(node).encode()  # on the session's lease
    assert v3_call(etcd_v3_server, "kv/range", {"key": b64(members)}).get("kvs")
    backend.close()  # its handler shut down (or its agent is gone)
    time.sleep(3.5)
    assert v3_call(etcd_v3_server, "kv/range", {"key": b64(alive)}).get("kvs") is None
