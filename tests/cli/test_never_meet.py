"""Nodes that can never meet are refused at once, not after the join timeout.

Port 0 means "any free port": with several nodes each one hosts a store of
its own (or dials port 0) and waits alone until its join timeout, ten minutes
by default. ``--standalone`` (c10d on ``localhost:0``), ``--master-port 0``,
Kubeflow's ``MASTER_PORT=0`` and an explicit ``HOST:0`` endpoint are the
members of this class; each is exit code 2 with one line for ``run``,
``check`` and ``config``, and a real agent with one node still runs at port 0.
"""

from __future__ import annotations

import pytest

from tests.support.contract import refused
from tests.support.procs import run_cli

pytestmark = pytest.mark.slow

TIMEOUT = 60  # far below the 600 s join timeout these jobs used to wait out

CASES = [
    (["--standalone", "--nnodes", "2"], {}, "(from flag --standalone)"),
    (["--standalone"], {"PET_NNODES": "2:3"}, "2 nodes (from env PET_NNODES)"),
    (["--nnodes", "2", "--node-rank", "0", "--master-port", "0"], {}, "'127.0.0.1:0'"),
    (["--nnodes", "2", "--rdzv-backend", "c10d", "--rdzv-endpoint", "head:0"], {}, "'head:0'"),
    (["--nnodes", "4:8", "--rdzv-backend", "etcd-v2", "--rdzv-endpoint", "etcd:0"], {}, "4 nodes"),
    (
        [],
        {
            "KUBERNETES_SERVICE_HOST": "10.0.0.1",
            "MASTER_ADDR": "job-master-0",
            "MASTER_PORT": "0",
            "PET_NNODES": "2",
            "PET_NODE_RANK": "1",
        },
        "'job-master-0:0'",
    ),
]


@pytest.mark.parametrize("command", ["run", "check", "config"])
@pytest.mark.parametrize(("args", "env", "fragment"), CASES, ids=str)
def test_several_nodes_at_port_zero_are_refused_at_once(
    command: str, args: list[str], env: dict[str, str], fragment: str
) -> None:
    tail = ["examples/allreduce.py"] if command == "run" else []
    done = run_cli([command, *args, *tail], env=env, timeout=TIMEOUT)
    line = refused(done, "endpoint", "port 0", fragment)
    assert "waits alone" in line
    assert done.stdout == ""  # `check` never says "ready" for it


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--master-port", "0"], {}), ([], {"PET_MASTER_PORT": "0"})],
    ids=["flag", "env"],
)
def test_static_at_port_zero_is_refused_even_on_one_node(
    args: list[str], env: dict[str, str]
) -> None:
    # Its workers get MASTER_PORT=0 and their process group waits forever (torchrun's too).
    done = run_cli(["run", *args, "examples/allreduce.py"], env=env, timeout=TIMEOUT)
    refused(done, "endpoint", "MASTER_PORT", "port 0")


def test_a_group_that_one_node_can_form_may_use_port_zero() -> None:
    # c10d on 127.0.0.1:0 with 1:4: the hosting node forms a group alone (tests, one machine).
    args = ["--rdzv-backend", "c10d", "--rdzv-endpoint", "127.0.0.1:0", "--nnodes", "1:4"]
    done = run_cli(["config", *args])
    assert done.returncode == 0, done.stderr


def test_one_node_at_a_free_port_still_runs_a_real_job() -> None:
    # The one-node default is c10d on localhost:0: the agent's store takes a free port and
    # hands it to the workers, so port 0 is right there.
    done = run_cli(["run", "--nproc-per-node", "2", "examples/allreduce.py"], timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(" ok") == 2, done.stdout
    assert "endpoint=localhost:0" in done.stderr
