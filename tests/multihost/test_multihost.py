"""Elastic jobs across three test hosts (network namespaces), with faults injected mid-job.

Each host runs one ``rendezvous-di run --nnodes 2:3`` agent with one worker
doing real gloo all_reduce steps across the hosts. Host 1 holds the
rendezvous state (the c10d TCPStore, or the etcd server); the rank order of
the dynamic rendezvous (by address) keeps host 1 as rank 0, so host 3 can be
cut without losing the workers' store either.
"""

from __future__ import annotations

import time

import pytest

from tests.support.agents import finish, start_agent, wait_until
from tests.support.etcd_server import EtcdServer, etcd_available
from tests.support.netns import Host, HostProcess, TestNetwork
from tests.support.procs import require

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


def test_c10d_survivors_regroup_after_a_host_is_cut(
    network: TestNetwork, record_property: pytest.RecordProperty
) -> None:
    store = network.hosts[0]
    endpoint = f"{store.address}:29400"

    def agent(host: Host) -> HostProcess:
        is_host = "true" if host is store else "false"
        conf = f"is_host={is_host},join_timeout=120,read_timeout=20,{FAST_FAULTS}"
        rdzv = ["--rdzv-backend", "c10d", "--rdzv-endpoint", endpoint, "--rdzv-id", "cut"]
        return start_agent(
            host, rdzv=[*rdzv, "--rdzv-conf", conf], worker_args=["5", "3"], max_restarts=10
        )

    agents = [agent(host) for host in network.hosts]
    wait_until(lambda: all_stepping(agents, 3), 120, "3 hosts doing all_reduce", agents)

    cut = network.hosts[2]
    cut.cut()
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
    record_property("cut_to_regrouped_s", round(regrouped, 1))
    record_property("cut_to_finished_s", round(finished, 1))
    print(f"\nhost 3 cut: survivors regrouped at world size 2 after {regrouped:.1f}s, ", end="")
    print(f"finished after {finished:.1f}s")

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
    require(etcd_available(), "etcd is not installed (scripts/setup.sh installs etcd-server)")
    host1 = network.hosts[0]

    def answers(server: EtcdServer) -> bool:
        code = f"import urllib.request; urllib.request.urlopen('{server.url}/version', timeout=1)"
        return host1.python(code).returncode == 0

    etcd = EtcdServer(
        host1.address,
        client_port=2379,
        peer_port=2380,
        command_prefix=host1.command([]),
        ready=answers,
    ).start()
    try:
        conf = f"join_timeout=120,read_timeout={READ_TIMEOUT},{FAST_FAULTS}"
        rdzv = ["--rdzv-backend", "etcd-v2", "--rdzv-endpoint", etcd.endpoint, "--rdzv-id", "dies"]
        agents = [
            start_agent(
                host, rdzv=[*rdzv, "--rdzv-conf", conf], worker_args=["5", "3"], max_restarts=3
            )
            for host in network.hosts
        ]
        wait_until(lambda: all_stepping(agents, 3), 120, "3 hosts doing all_reduce", agents)

        etcd.kill()
        started = time.monotonic()
        for agent in agents:
            assert finish(agent, READ_TIMEOUT + 60, agents) == 1, agent.output()[-4000:]
        failed = time.monotonic() - started
        record_property("etcd_killed_to_agents_failed_s", round(failed, 1))
        print(f"\nall agents failed {failed:.1f}s after the etcd server was killed")

        print(agents[1].output().strip().splitlines()[-1])
        for agent in agents:
            last = agent.output().strip().splitlines()[-1]
            assert last.startswith("error: "), last
            assert "etcd-v2" in last
            assert etcd.endpoint in last
            assert "rendezvous-di check" in last
    finally:
        etcd.stop()
