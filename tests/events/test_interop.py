"""Mixed jobs: a plain ``torchrun`` agent (polling) and a ``rendezvous-di run`` agent (events).

They meet in one rendezvous and train: each worker does a gloo all_reduce
and reports what it saw. The event-driven agent hears no ring from the
polling one and falls back to torch's second; the polling one ignores the
event keys.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.etcd_server import EtcdServer
from tests.support.jobs import WORKER, expected_sum, read_reports
from tests.support.procs import REPO, clean_environ, communicate_all, free_port

pytestmark = pytest.mark.slow

TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]
OURS = [sys.executable, "-m", "rendezvous_di", "run"]
COMMON_CONF = "join_timeout=120,last_call_timeout=1,keep_alive_interval=1,keep_alive_max_attempt=10"


def run_mixed(agents: list[list[str]], out: Path) -> None:
    tail = ["--nnodes", "2", "--nproc-per-node", "1", "--max-restarts", "0", str(WORKER), str(out)]
    started = [
        subprocess.Popen(
            [*agent, *tail],
            env=clean_environ(),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for agent in agents
    ]
    outputs = communicate_all(started, timeout=300)
    for agent, (_, err) in zip(started, outputs, strict=True):
        assert agent.returncode == 0, err[-4000:]
    reports = read_reports(out)
    assert [r["rank"] for r in reports] == [0, 1]
    assert {r["sum"] for r in reports} == {expected_sum(2)}


def test_torchrun_and_rendezvous_di_train_together_on_c10d(tmp_path: Path) -> None:
    where = ["--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{free_port()}"]
    run_mixed(
        [
            [*TORCHRUN, *where, "--rdzv-id", "mixed", "--rdzv-conf", f"is_host=1,{COMMON_CONF}"],
            [*OURS, *where, "--rdzv-id", "mixed", "--rdzv-conf", f"is_host=0,{COMMON_CONF}"],
        ],
        tmp_path,
    )


def test_a_polling_and_an_event_driven_agent_train_together_on_etcd_v3(
    etcd_v3_server: EtcdServer, tmp_path: Path
) -> None:
    where = ["--rdzv-backend", "etcd-v3", "--rdzv-endpoint", etcd_v3_server.endpoint]
    run_id = f"mixed-{tmp_path.name}"[-60:]
    run_mixed(
        [
            # Plain torchrun reaches etcd-v3 through our torchrun.handlers entry point, which
            # is event-driven unless told otherwise: sync=poll is torch's own waiting.
            [*TORCHRUN, *where, "--rdzv-id", run_id, "--rdzv-conf", f"sync=poll,{COMMON_CONF}"],
            [*OURS, *where, "--rdzv-id", run_id, "--rdzv-conf", COMMON_CONF],
        ],
        tmp_path,
    )
