"""The ``network`` group check on three network-namespace hosts running a real gloo job.

Host 3's link is rate-limited with ``tc`` (a token bucket on its veth: the
``sch_netem`` delay qdisc is not available on every kernel, ``tbf`` is).
The check names host 3; host 3's agent exits 1 with one ``error:`` line, and
hosts 1 and 2 re-form without it and train to the end.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.support.agents import finish, start_agent
from tests.support.netns import IFNAME, Host, TestNetwork

pytestmark = pytest.mark.slow

FAST = "last_call_timeout=1,keep_alive_interval=1,keep_alive_max_attempt=3"
ADMISSION = "network,network.size_mb=2,network.rounds=2,network.timeout=60"


def throttle(host: Host, rate: str) -> None:
    """Limit ``host``'s outgoing traffic to ``rate`` (its own namespace: removed with it)."""
    subprocess.run(
        host.command(
            [
                "tc",
                "qdisc",
                "add",
                "dev",
                IFNAME,
                "root",
                "tbf",
                "rate",
                rate,
                "burst",
                "32kbit",
                "latency",
                "400ms",
            ]
        ),
        check=True,
        capture_output=True,
    )


def test_a_slow_host_is_named_and_the_others_train_without_it(network: TestNetwork) -> None:
    throttle(network.hosts[2], "40mbit")
    host1 = network.hosts[0]

    def flags(host: Host) -> list[str]:
        conf = f"{FAST},join_timeout=90,is_host={str(host is host1).lower()}"
        return [
            "--rdzv-backend",
            "c10d",
            "--rdzv-endpoint",
            f"{host1.address}:29400",
            "--rdzv-id",
            "admission",
            "--rdzv-conf",
            conf,
            "--admission",
            ADMISSION,
        ]

    agents = [start_agent(host, rdzv=flags(host), worker_args=["3"]) for host in network.hosts]
    slow = agents[2]
    assert finish(slow, 120, agents) == 1, "\n".join(a.output()[-2500:] for a in agents)
    errors = [line for line in slow.output().splitlines() if line.startswith("error:")]
    assert len(errors) == 1, slow.output()[-3000:]
    assert "network" in errors[0]
    assert "this node is faulty" in errors[0]
    assert network.hosts[2].address in errors[0]
    for agent in agents[:2]:
        assert finish(agent, 120, agents) == 0, agent.output()[-3000:]
        output = agent.output()
        assert "re-forming without rank(s) 2" in output
        assert "network passed" in output  # the new round of two, checked again
        assert "world=2 steps=3" in output  # the workers trained without host 3
