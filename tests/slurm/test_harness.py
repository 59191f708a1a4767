"""The Slurm harness leaves nothing behind, also when the test using it fails mid-job: no
daemon, no job step, no namespace, no temp dir (its own cluster: a failure is the point)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.netns import TestNetwork, namespaces, netns_supported, sweep_stale
from tests.support.procs import require
from tests.support.slurm_cluster import SlurmCluster, processes_of, slurm_available

pytestmark = pytest.mark.slow


class Boom(Exception):
    pass


def tasks(net: TestNetwork) -> list[str]:
    """The job's tasks running on the nodes (not srun, whose command line names them too)."""
    commands = (p.split()[1:] for p in processes_of(net.workdir))
    return [" ".join(c) for c in commands if c and Path(c[0]).name == "sleep"]


def fail_mid_job(net: TestNetwork, seen: list[str]) -> None:
    """A test body that starts a 3-node job step that would run for 10 minutes, then fails."""
    with net:
        cluster = SlurmCluster(net).start()
        cluster.start_on(
            cluster.controller,
            ["srun", "--nodes=3", "sleep", "600"],
            log_name="srun",
            env=cluster.environ(),
        )
        deadline = time.monotonic() + 60
        while len(tasks(net)) < 3:
            assert time.monotonic() < deadline, f"the step never ran\n{cluster.logs()}"
            time.sleep(0.3)
        seen.extend(processes_of(net.workdir))
        raise Boom


def test_a_failing_test_leaves_no_daemon_job_step_namespace_or_temp_dir() -> None:
    supported, reason = netns_supported()
    require(supported, reason)
    available, reason = slurm_available()
    require(available, reason)
    sweep_stale()
    net = TestNetwork(count=3)
    seen: list[str] = []
    with pytest.raises(Boom):
        fail_mid_job(net, seen)

    # What ran: every daemon, and the step on the nodes.
    for name in ("munged", "slurmctld", "slurmd", "slurmstepd"):
        assert any(name in p for p in seen), seen
    assert processes_of(net.workdir) == []
    assert [name for name in namespaces() if name.startswith(net.prefix)] == []
    assert not net.workdir.exists()
