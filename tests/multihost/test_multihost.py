"""Elastic jobs across three test hosts (network namespaces), with faults injected mid-job.

Each host runs one ``rendezvous-di run --nnodes 2:3`` agent with one worker
doing real gloo all_reduce steps across the hosts. Host 1 holds the
rendezvous state (the c10d TCPStore, or the etcd server); the rank order of
the dynamic rendezvous (by address) keeps host 1 as rank 0, so host 3 can be
cut without losing the workers' store either.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.support.agents import finish, start_agent, wait_until
from tests.support.etcd_server import EtcdServer, etcd_available
from tests.support.netns import Host, HostProcess, TestNetwork, etcd_on_host
from tests.support.procs import require, run_process

pytestmark = pytest.mark.slow

# Fault detection stays fast through the backend options, while joining stays generous.
FAST_FAULTS = (
    "last_call_timeout=3,keep_alive_interval=1,keep_alive_max_attempt=3,heartbeat_timeout=2"
)
READ_TIMEOUT = 5


def all_stepping(agents: list[HostProcess], world: int) -> bool:
    """Every agent's worker completed at least two all_reduce steps in a world of ``world``."""
    sum_ = world * (world + 1) // 2
    return all(
        f"step=2 host={a.host.index} rank={a.host.index - 1} world={world} sum={sum_}" in a.output()
        for a in agents
    )


def check_from(
    host: Host, endpoint: str, backend: str = "etcd-v2", timeout: float = 5
) -> subprocess.CompletedProcess[str]:
    """``rendezvous-di check`` for ``backend`` at ``endpoint``, run on ``host``."""
    args = ["check", "--rdzv-backend", backend, "--rdzv-endpoint", endpoint]
    args += ["--timeout", str(timeout)]
    return run_process(host.command([sys.executable, "-m", "rendezvous_di", *args]), timeout=60)


@contextmanager
def etcd_on(host: Host) -> Iterator[EtcdServer]:
    """An etcd server on ``host``'s address, checked from that host; stopped afterwards."""
    require(etcd_available(), "etcd is not installed (scripts/setup.sh installs etcd-server)")
    with etcd_on_host(host) as server:
        yield server


@contextmanager
def rendezvous_on_host1(network: TestNetwork, backend: str) -> Iterator[list[str]]:
    """The ``--rdzv-*`` flags every agent gets (without is_host), the state held by host 1."""
    host1 = network.hosts[0]
    if backend == "c10d":
        yield ["--rdzv-backend", "c10d", "--rdzv-endpoint", f"{host1.address}:29400"]
        return
    with etcd_on(host1) as etcd:
        yield ["--rdzv-backend", backend, "--rdzv-endpoint", etcd.endpoint]


@pytest.mark.parametrize(
    ("backend", "fault", "sync"),
    [("c10d", "link down", "event"), ("c10d", "link down", "poll"), ("etcd-v2", "crashed", "poll")],
)
def test_survivors_regroup_at_world_size_2_after_a_host_is_lost(
    network: TestNetwork,
    record_property: pytest.RecordProperty,
    backend: str,
    fault: str,
    sync: str,
) -> None:
    with rendezvous_on_host1(network, backend) as rdzv:

        def agent(host: Host) -> HostProcess:
            conf = f"join_timeout=120,read_timeout=20,{FAST_FAULTS},sync={sync}"
            if backend == "c10d":
                conf += f",is_host={str(host is network.hosts[0]).lower()}"
            flags = [*rdzv, "--rdzv-id", "regroup", "--rdzv-conf", conf]
            return start_agent(host, rdzv=flags, worker_args=["5", "3"], max_restarts=10)

        agents = [agent(host) for host in network.hosts]
        wait_until(lambda: all_stepping(agents, 3), 120, "3 hosts doing all_reduce", agents)

        lost = network.hosts[2]
        if fault == "link down":
            store = rdzv[rdzv.index("--rdzv-endpoint") + 1]
            before = check_from(lost, store, backend)
            assert before.returncode == 0, before.stderr
            assert f"ready: store at {store} answers as a TCPStore" in before.stdout
            lost.cut()
            started = time.monotonic()
            after = check_from(lost, store, backend, timeout=2)
            # Dropped packets, not refused connections: the probe's own bound ends it.
            assert after.returncode == 1
            assert f"store at {store} is unreachable: no answer from {store} within 2s" in (
                after.stderr
            )
        else:
            lost.crash()  # its agent and its worker die together, as in a power loss
            started = time.monotonic()
        survivors = agents[:2]
        wait_until(
            lambda: all(", world size 2, " in a.output() for a in survivors),
            150,
            "the survivors' rendezvous at world size 2",
            agents,
        )
        regrouped = time.monotonic() - started
        for survivor in survivors:
            assert finish(survivor, 120, agents) == 0, survivor.output()[-4000:]
        finished = time.monotonic() - started
    record_property("lost_to_regrouped_s", round(regrouped, 1))
    record_property("lost_to_finished_s", round(finished, 1))
    print(
        f"\n{backend} ({sync}), host 3 {fault}: survivors regrouped at world size 2 after ", end=""
    )
    print(f"{regrouped:.1f}s, finished after {finished:.1f}s")

    for survivor in survivors:
        index = survivor.host.index
        log = survivor.output()
        assert f"WORKER done host={index} rank={index - 1} world=2 steps=5 sum=3" in log
        # The progress summary of each round, from rendezvous-di run itself.
        assert f"world size 3, this node's rank {index - 1}, took" in log
        assert f"world size 2, this node's rank {index - 1}, took" in log
    assert "world=2" not in agents[2].output()


def test_etcd_v2_agents_fail_clearly_when_the_etcd_server_dies(
    network: TestNetwork, record_property: pytest.RecordProperty
) -> None:
    with etcd_on(network.hosts[0]) as etcd:
        conf = f"join_timeout=120,read_timeout={READ_TIMEOUT},{FAST_FAULTS}"
        rdzv = ["--rdzv-backend", "etcd-v2", "--rdzv-endpoint", etcd.endpoint, "--rdzv-id", "dies"]
        agents = [
            start_agent(
                host, rdzv=[*rdzv, "--rdzv-conf", conf], worker_args=["5", "3"], max_restarts=3
            )
            for host in network.hosts
        ]
        wait_until(lambda: all_stepping(agents, 3), 120, "3 hosts doing all_reduce", agents)
        ready = check_from(network.hosts[2], etcd.endpoint)
        assert ready.returncode == 0, ready.stderr
        assert f"ready: etcd 3.4.23 at {etcd.url} answers; v2 API enabled" in ready.stdout

        etcd.kill()
        started = time.monotonic()
        for agent in agents:
            assert finish(agent, READ_TIMEOUT + 60, agents) == 1, agent.output()[-4000:]
        failed = time.monotonic() - started
    record_property("etcd_killed_to_agents_failed_s", round(failed, 1))
    print(f"\nall agents failed {failed:.1f}s after the etcd server was killed")
    print(agents[1].output().strip().splitlines()[-1])

    gone = check_from(network.hosts[1], etcd.endpoint)
    assert gone.returncode == 1
    assert f"error: etcd-v2: etcd at {etcd.url} is unreachable: " in gone.stderr

    for agent in agents:
        last = agent.output().strip().splitlines()[-1]
        assert last.startswith(
            f"error: the rendezvous on backend 'etcd-v2' at {etcd.endpoint} failed: "
            "RendezvousConnectionError"
        ), last
        assert "Connection refused" in last
        check = f"rendezvous-di check --rdzv-backend etcd-v2 --rdzv-endpoint {etcd.endpoint}"
        assert f"check with: {check}" in last
