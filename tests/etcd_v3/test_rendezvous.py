"""The etcd-v3 backend on real etcd 3.4 and 3.5 servers with the v2 API off.

Processes meet through the container; the backend's compare-and-swap follows
torch's RendezvousBackend contract; a run leaves no key in etcd, whether it
finished cleanly (at once) or was abandoned (after the lease's TTL).
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.support.etcd_server import EtcdServer, all_keys, v3_call
from tests.support.procs import REPO, clean_environ, communicate_all, free_port
from tests.support.rendezvous_node import start_node

from .conftest import FAST, assert_met, run_nodes

pytestmark = pytest.mark.slow


def run_id(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def heartbeat_interval() -> int:
    """1 s, or the 5 s a torch whose ``from_backend`` takes no keep-alive settings uses (2.6)."""
    from rendezvous_di.backends.etcd_v3 import handler

    fixed = handler.TORCH_FIXED_KEEP_ALIVE["keep_alive_interval"]
    return 1 if handler._from_backend_takes_keep_alive() else fixed


@pytest.mark.parametrize("count", [2, 3])
def test_processes_meet_and_a_clean_finish_leaves_no_key(
    etcd_v3_server: EtcdServer, count: int
) -> None:
    settings = {
        "backend": "etcd-v3",
        "endpoint": etcd_v3_server.endpoint,
        "run_id": run_id(f"meet{count}"),
        "nnodes": count,
        "conf": FAST,
    }
    assert_met(run_nodes(settings, count), count)
    assert all_keys(etcd_v3_server) == []


def test_a_dead_first_endpoint_fails_over_to_the_next(etcd_v3_server: EtcdServer) -> None:
    settings = {
        "backend": "etcd-v3",
        "endpoint": f"127.0.0.1:{free_port()},{etcd_v3_server.endpoint}",
        "run_id": run_id("failover"),
        "nnodes": 2,
        "conf": FAST,
    }
    assert_met(run_nodes(settings, 2), 2)
    assert all_keys(etcd_v3_server) == []


@pytest.fixture
def backend(etcd_v3_server: EtcdServer) -> Iterator[object]:
    from rendezvous_di.backends.etcd_v3 import parse_endpoints
    from rendezvous_di.backends.etcd_v3.backend import EtcdV3RendezvousBackend
    from rendezvous_di.backends.etcd_v3.client import EtcdClient
    from rendezvous_di.backends.etcd_v3.session import RunSession

    client = EtcdClient(parse_endpoints(etcd_v3_server.endpoint), timeout=30)
    session = RunSession(client, "/tests", run_id("cas"), lease_ttl=60)
    yield EtcdV3RendezvousBackend(session)
    client.delete(b"/tests/", prefix=True)
    client.close()


def test_set_state_is_a_compare_and_swap_on_the_mod_revision(backend: object) -> None:
    from rendezvous_di.backends.etcd_v3.backend import EtcdV3RendezvousBackend

    assert isinstance(backend, EtcdV3RendezvousBackend)
    assert backend.name == "etcd-v3"
    assert backend.get_state() is None
    created = backend.set_state(b"first")
    assert created is not None
    state, token, ok = created
    assert (state, ok) == (b"first", True)
    assert backend.get_state() == (b"first", token)

    # without a token a write must create the key: it exists, so we get the current state
    assert backend.set_state(b"lost") == (b"first", token, False)
    swapped = backend.set_state(b"second", token)
    assert swapped is not None
    assert swapped[0::2] == (b"second", True)
    new_token = swapped[1]
    assert new_token != token
    # a stale token loses and learns the winner's state and token in the same round trip
    assert backend.set_state(b"stale", token) == (b"second", new_token, False)
    assert backend.set_state(b"odd", "not-a-revision") == (b"second", new_token, False)
    assert backend.get_state() == (b"second", new_token)


def test_torch_dynamic_rendezvous_runs_on_the_backend_and_keeps_its_lease(
    etcd_v3_server: EtcdServer,
) -> None:
    """One node (min 1) meets alone; its keys outlive several lease TTLs while it lives."""
    from torch.distributed.elastic.rendezvous import RendezvousParameters
    from torch.distributed.elastic.rendezvous.dynamic_rendezvous import DynamicRendezvousHandler

    from rendezvous_di.backends.etcd_v3 import create_handler

    interval = heartbeat_interval()
    params = RendezvousParameters(
        "etcd-v3",
        etcd_v3_server.endpoint,
        run_id("alone"),
        1,
        1,
        keep_alive_interval=str(interval),
        lease_ttl=str(lease := 3 * interval + 2),  # past torch's expiry (3 beats)
        last_call_timeout="1",
    )
    handler = create_handler(params)
    assert isinstance(handler, DynamicRendezvousHandler)  # torch's own rendezvous algorithm
    try:
        info = handler.next_rendezvous()
        assert (info.rank, info.world_size) == (0, 1)
        info.store.set("key", "value")
        time.sleep(3 * lease)  # three TTLs: only the refreshes keep the keys
        keys = all_keys(etcd_v3_server)
        run = f"/torch/elastic/rendezvous/{params.run_id}/".encode()
        assert run + b"state" in keys
        assert any(k.startswith(run + b"store/") for k in keys)
        assert info.store.get("key") == b"value"
    finally:
        handler.shutdown()
    assert all_keys(etcd_v3_server) == []


NODE_THAT_WAITS = """
import sys
from torch.distributed.elastic.rendezvous import RendezvousParameters
from rendezvous_di.backends.etcd_v3 import create_handler
params = RendezvousParameters("etcd-v3", sys.argv[1], sys.argv[2], 2, 2,
                              lease_ttl=sys.argv[3], keep_alive_interval="1")
handler = create_handler(params)
print("joining", flush=True)
handler.next_rendezvous()  # waits for a second node that never comes
"""


def test_an_abandoned_run_leaves_no_key_after_the_lease_ttl(etcd_v3_server: EtcdServer) -> None:
    rid = run_id("abandoned")
    interval = heartbeat_interval()  # the shortest lease this torch allows is > 3 intervals
    node = subprocess.Popen(
        [
            sys.executable,
            "-c",
            NODE_THAT_WAITS,
            etcd_v3_server.endpoint,
            rid,
            str(3 * interval + 1),
        ],
        env=clean_environ(),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    state = f"/torch/elastic/rendezvous/{rid}/state".encode()
    try:
        deadline = time.monotonic() + 120
        while state not in all_keys(etcd_v3_server):
            assert node.poll() is None, node.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the node never wrote the rendezvous state"
            time.sleep(0.2)
    finally:
        node.send_signal(signal.SIGKILL)  # no shutdown: nobody cleans up but the lease
        node.communicate()
    deadline = time.monotonic() + 60
    while all_keys(etcd_v3_server):
        assert time.monotonic() < deadline, all_keys(etcd_v3_server)
        time.sleep(0.5)


def test_state_written_by_one_node_is_read_by_another(etcd_v3_server: EtcdServer) -> None:
    """Two sessions (two nodes) see each other's writes and race on one token."""
    from rendezvous_di.backends.etcd_v3 import parse_endpoints
    from rendezvous_di.backends.etcd_v3.backend import EtcdV3RendezvousBackend
    from rendezvous_di.backends.etcd_v3.client import EtcdClient
    from rendezvous_di.backends.etcd_v3.session import RunSession

    rid = run_id("two")
    clients = [EtcdClient(parse_endpoints(etcd_v3_server.endpoint)) for _ in range(2)]
    one, two = (EtcdV3RendezvousBackend(RunSession(c, "/tests", rid, 60)) for c in clients)
    try:
        first = one.set_state(json.dumps({"by": 1}).encode())
        assert first is not None
        read = two.get_state()
        assert read == (b'{"by": 1}', first[1])
        assert two.set_state(b"two wins", read[1]) is not None
        assert one.set_state(b"one loses", first[1]) == (b"two wins", two.get_state()[1], False)  # type: ignore[index]
    finally:
        clients[0].delete(b"/tests/", prefix=True)
        for client in clients:
            client.close()


def _heartbeat_age(server: EtcdServer, rid: str) -> dict[str, float]:
    """Seconds since each node's last heartbeat in the run's state (torch's pickled state);
    empty while there is no state."""
    import datetime
    import pickle

    key = f"/torch/elastic/rendezvous/{rid}/state".encode()
    kvs = v3_call(server, "kv/range", {"key": base64.b64encode(key).decode()}).get("kvs") or []
    if not kvs:
        return {}
    state = pickle.loads(base64.b64decode(kvs[0]["value"]))
    now = datetime.datetime.now(datetime.UTC)
    return {str(node): (now - beat).total_seconds() for node, beat in state.last_heartbeats.items()}


def test_a_node_stalled_for_seconds_still_agrees_on_the_world(etcd_v3_server: EtcdServer) -> None:
    """The 16-agent benchmark's split ({16, 15}) on two nodes, made certain with SIGSTOP.

    torch drops from its view any node whose last heartbeat is older than
    keep_alive_interval x keep_alive_max_attempt, and under load its own
    heartbeats land up to 2 intervals + 1 s apart: with 1 s x 3 a node that
    stalled a few seconds (a loaded machine) dropped itself or was dropped
    from a round the others completed with it. Node A stalls 4 s right after
    joining while B completes the round; with FAST's threshold (10 s) both
    must answer the same world.
    """
    rid = run_id("stall")
    settings = {
        "backend": "etcd-v3",
        "endpoint": etcd_v3_server.endpoint,
        "run_id": rid,
        "nnodes": 2,
        "conf": FAST,
    }

    def start() -> subprocess.Popen[str]:
        return start_node(settings)

    nodes = [start()]
    try:
        deadline = time.monotonic() + 120
        while not _heartbeat_age(etcd_v3_server, rid):  # A joined, waits for B
            assert nodes[0].poll() is None, nodes[0].communicate()[1][-3000:]
            assert time.monotonic() < deadline, "node A never joined"
            time.sleep(0.05)
        nodes.append(start())
        # B grants its lease when its handler is created and joins a moment later: stall A
        # then, so B still counts A in (A's heartbeat is under 3 s old) and completes the
        # round, and A wakes 4 s later to a state whose copy of its heartbeat is old.
        while len(v3_call(etcd_v3_server, "lease/leases", {}).get("leases") or []) < 2:
            assert nodes[1].poll() is None, nodes[1].communicate()[1][-3000:]
            assert time.monotonic() < deadline, "node B never started"
            time.sleep(0.02)
        nodes[0].send_signal(signal.SIGSTOP)
        time.sleep(4)  # past 1 s x 3, within FAST's 1 s x 10
    finally:
        nodes[0].send_signal(signal.SIGCONT)
    outputs = communicate_all(nodes, timeout=240)
    for node, (_, err) in zip(nodes, outputs, strict=True):
        assert node.returncode == 0, err[-3000:]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert_met(sorted(results, key=lambda r: r["rank"]), 2)
