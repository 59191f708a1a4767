"""The fake handler under torch's own launcher: a real 1-node, 2-worker job."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rendezvous_di._torch import rendezvous_module
from tests.support.jobs import WORKER, expected_sum, read_reports

rdzv = rendezvous_module()  # torch is a hard dependency: never skipped

from rendezvous_di.testing import FakeRendezvousHandler, RendezvousOverride  # noqa: E402


@pytest.mark.slow
def test_elastic_launch_runs_two_workers_on_the_fake_handler(
    rendezvous_override: RendezvousOverride, tmp_path: Path
) -> None:
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    created: list[FakeRendezvousHandler] = []

    def creator(params: rdzv.RendezvousParameters) -> FakeRendezvousHandler:
        created.append(FakeRendezvousHandler.from_parameters(params))
        return created[-1]

    rendezvous_override(creator, backend="c10d")
    rendezvous_override.install(["c10d"])  # torch's launcher now gets c10d from the container
    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=2,
        run_id="fake-job",
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",
        max_restarts=0,
        monitor_interval=0.1,
    )
    elastic_launch(config, entrypoint=sys.executable)(str(WORKER), str(tmp_path))

    reports = read_reports(tmp_path)
    assert [r["rank"] for r in reports] == [0, 1]
    assert {r["world_size"] for r in reports} == {2}
    assert {r["sum"] for r in reports} == {expected_sum(2)}
    assert {r["run_id"] for r in reports} == {"fake-job"}
    (handler,) = created
    assert handler.called("next_rendezvous") == 1
    # torch's launcher shuts its handler down: launch_agent does, once. torch 2.6's
    # LocalElasticAgent._shutdown also calls rdzv_handler.shutdown() when run() ends, so
    # there the handler is shut down twice (later releases leave it to launch_agent).
    assert handler.called("shutdown") in (1, 2)
    assert handler.is_closed()
