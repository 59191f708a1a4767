"""``srun`` runs ``rendezvous-di run`` on every node of a real Slurm allocation, and the agents
form ONE elastic job: world size = the step's node count, one run id, a correct all_reduce.

The job runs as a Slurm user runs it: ``srun -N 3 rendezvous-di run
--nproc-per-node 1 train.py``, the venv's console script, no ``--local-addr``
(each node is found by its host name). gloo uses the hosts' link through
GLOO_SOCKET_IFNAME, which srun exports to the tasks as a user's shell would.
Each node's output (agent log and worker lines) goes to its own file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slow

TRAIN = Path(__file__).with_name("train.py")
RENDEZVOUS_DI = str(Path(sys.executable).with_name("rendezvous-di"))
# Bounded twice: Slurm ends the step after --time minutes, the test waits at most JOB_TIMEOUT.
JOB_TIMEOUT = 240
# torchrun's documented recipe for Slurm, every flag taken from the step's own environment.
BY_HAND = (
    'exec "$0" run --rdzv-backend c10d'
    ' --rdzv-endpoint "$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n1):29400"'
    ' --rdzv-id "$SLURM_JOB_ID" --nnodes "$SLURM_NNODES" "$@"'
)


def run_job(cluster: SlurmCluster, srun_args: list[str], command: list[str], out: Path) -> str:
    """``srun SRUN_ARGS COMMAND`` to its end; every node's output joined (it fails with them)."""
    out.mkdir()
    srun = ["srun", f"--output={out}/%N.out", "--kill-on-bad-exit=1", "--time=4", *srun_args]
    done = cluster.run([*srun, *command], timeout=JOB_TIMEOUT)
    outputs = "\n".join(f"--- {p.name}:\n{p.read_text()}" for p in sorted(out.iterdir()))
    assert done.returncode == 0, f"srun exit {done.returncode}\n{done.stderr}\n{outputs}"
    return outputs


def workers(outputs: str) -> list[dict[str, Any]]:
    lines = [line for line in outputs.splitlines() if line.startswith("TRAIN ")]
    return [json.loads(line.removeprefix("TRAIN ")) for line in lines]


def assert_one_job(reports: list[dict[str, Any]], nodes: list[str], outputs: str) -> None:
    """One worker per node, ranks 0..N-1 of one world of N, one run id, the right sum."""
    world = len(nodes)
    assert sorted(r["host"] for r in reports) == nodes, outputs
    assert sorted(r["rank"] for r in reports) == list(range(world)), outputs
    assert {(r["world"], r["sum"]) for r in reports} == {(world, world * (world + 1) // 2)}
    assert len({r["run_id"] for r in reports}) == 1, outputs


def test_flags_taken_by_hand_from_the_step_form_one_job(
    slurm: SlurmCluster, tmp_path: Path
) -> None:
    command = ["sh", "-c", BY_HAND, RENDEZVOUS_DI, "--nproc-per-node", "1", str(TRAIN)]
    outputs = run_job(slurm, ["--nodes=3"], command, tmp_path / "out")

    reports = workers(outputs)
    assert_one_job(reports, slurm.nodes, outputs)
    assert reports[0]["run_id"].isdigit()  # SLURM_JOB_ID, as the recipe gives it
