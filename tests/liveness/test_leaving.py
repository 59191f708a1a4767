"""A stopped agent leaves its rendezvous at once, and leaves it open for the others.

torch's launcher, stopped by a signal, skips ``shutdown`` (it would close the run
for every node), so its node goes quiet and the others wait for its heartbeats to
expire. ``run`` takes the node out with torch's own executor instead.
"""

from __future__ import annotations

import base64
import pickle
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import torch.distributed as dist

from rendezvous_di.backends.liveness.leaving import leave
from tests.support.events import c10d_containers, meet
from tests.support.procs import REPO, clean_environ

EXPIRY = 30  # keep_alive_interval 10 s x 3: a node gone quiet stays listed this long


def stored(store: Any, run_id: str) -> Any:
    """The state in the store; None before the first node wrote it (torch's sentinel)."""
    from torch.distributed.elastic.rendezvous.c10d_rendezvous_backend import (
        C10dRendezvousBackend,
    )

    value = store.get(f"torch.rendezvous.{run_id}")
    if value == C10dRendezvousBackend._NULL_SENTINEL.encode():
        return None
    return pickle.loads(base64.b64decode(value))


def client(port: int) -> Any:
    return dist.TCPStore(  # type: ignore[attr-defined]
        "127.0.0.1", port, is_master=False, timeout=timedelta(seconds=30)
    )


@pytest.mark.parametrize("heartbeats", ["keys", "state"])
def test_leave_takes_the_node_out_and_keeps_the_run_open(
    store_server: Any, heartbeats: str
) -> None:
    conf = {"keep_alive_interval": 10, "heartbeats": heartbeats}
    group = c10d_containers(store_server, 3, conf, f"leaving-{heartbeats}")
    handlers = [c.handler() for c in group]
    try:
        assert meet(handlers) == [(0, 3), (1, 3), (2, 3)]
        assert leave(handlers[2])
        state = stored(client(store_server.port), f"leaving-{heartbeats}")
        assert set(state.participants) == {h._this_node for h in handlers[:2]}
        assert handlers[2]._this_node not in state.last_heartbeats
        assert not state.closed
        assert not leave(object())  # no dynamic rendezvous: nothing to leave
    finally:
        for container in group:
            container.shutdown_resources()


WORKER = """
import sys, time
print("training", flush=True)
time.sleep(120)
"""


def agent(port: int, script: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "rendezvous_di", "run", "--rdzv-backend=c10d"),
            *(f"--rdzv-endpoint=127.0.0.1:{port}", "--rdzv-id=scaled"),
            "--rdzv-conf=is_host=0,join_timeout=60,last_call_timeout=2,keep_alive_interval=10",
            *("--nnodes=1:2", "--nproc-per-node=1", "--max-restarts=0", str(script)),
        ],
        env=clean_environ(),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_an_agent_stopped_with_sigterm_leaves_at_once(store_server: Any, tmp_path: Path) -> None:
    """Two agents train; one is stopped (a scale-down): the state lists only the other,
    long before its heartbeats could have expired, and the run stays open."""
    script = tmp_path / "train.py"
    script.write_text(WORKER)
    store = client(store_server.port)
    agents = [agent(store_server.port, script) for _ in range(2)]
    try:
        deadline = time.monotonic() + 90
        while not (store.check(["torch.rendezvous.scaled"]) and _complete(store, 2)):
            assert time.monotonic() < deadline, [a.poll() for a in agents]
            time.sleep(0.2)
        agents[1].send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        _, err = agents[1].communicate(timeout=30)
        assert agents[1].returncode == 143, err[-3000:]
        state = stored(store, "scaled")
        assert time.monotonic() - stopped < EXPIRY  # so the expiry cannot have done it
        assert len(state.participants) == 1  # it left by itself
        assert not state.closed
        assert agents[0].poll() is None  # the other trains on
    finally:
        for process in agents:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.communicate(timeout=30)


def _complete(store: Any, count: int) -> bool:
    state = stored(store, "scaled")
    return state is not None and state.complete and len(state.participants) == count
