"""One real Slurm cluster per test module: three network-namespace hosts, a controller, three
node daemons (`tests.support.slurm_cluster`).

Module-scoped because the machine has two cores: starting the daemons once per
module keeps the tests fast, and each test runs its job to the end, so the next
finds the nodes idle. The finalizer destroys the network (every daemon and job
step with it) and checks that nothing of the cluster is left.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.netns import TestNetwork, netns_supported, sweep_stale
from tests.support.procs import require
from tests.support.slurm_cluster import SlurmCluster, processes_of, slurm_available


@pytest.fixture(scope="module")
def slurm() -> Iterator[SlurmCluster]:
    supported, reason = netns_supported()
    require(supported, reason)
    available, reason = slurm_available()
    require(available, reason)
    sweep_stale()
    net = TestNetwork(count=3).create()
    try:
        yield SlurmCluster(net).start()
    finally:
        net.destroy()
        assert net.leftovers() == [], "namespaces left behind"
        assert [p.process.poll() for p in net.processes].count(None) == 0, "processes left"
        assert processes_of(net.workdir) == [], "slurm daemons or job steps left"
        assert not net.workdir.exists(), "temp dir left behind"
