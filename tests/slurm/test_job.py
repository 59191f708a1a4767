"""``srun`` runs ``rendezvous-di run`` on every node of a real Slurm allocation, and the agents
form ONE elastic job: world size = the step's node count, one run id, a correct all_reduce.

The job runs as a Slurm user runs it: ``srun -N 3 rendezvous-di run
--nproc-per-node 1 train.py``, the venv's console script, no rendezvous flag and
no ``--local-addr``: the rendezvous comes from the step's SLURM_* variables
(c10d at the first node, port 29400; the node count; the job and step id), and
each node is found by its host name. gloo uses the hosts' link through
GLOO_SOCKET_IFNAME, which srun exports to the tasks as from a user's shell.
Each node's output (agent log and worker lines) goes to its own file.

A batch script is run as ``sbatch --wait`` runs it, on the job's first node:
``rendezvous-di run`` called there directly is refused (one agent for a 3-node
job), the same line with ``srun`` in front forms the job.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slow

TRAIN = Path(__file__).with_name("train.py")
RENDEZVOUS_DI = str(Path(sys.executable).with_name("rendezvous-di"))
RUN = [RENDEZVOUS_DI, "run", "--nproc-per-node", "1", str(TRAIN)]
# Bounded twice: Slurm ends a job after --time=4 minutes (its message first), the test waits
# at most JOB_TIMEOUT seconds.
JOB_TIMEOUT = 300
# torchrun's documented recipe for Slurm: every flag taken by hand from the step's environment.
BY_HAND = (
    'exec "$0" run --rdzv-backend c10d'
    ' --rdzv-endpoint "$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n1):29400"'
    ' --rdzv-id "$SLURM_JOB_ID" --nnodes "$SLURM_NNODES" "$@"'
)


def srun(out: Path, nodes: int) -> list[str]:
    """``srun -N NODES`` with each node's output in ``out``, bounded, torn down on a failure."""
    return [
        "srun",
        f"--nodes={nodes}",
        f"--output={out}/%N.out",
        "--kill-on-bad-exit=1",
        "--time=4",
    ]


def run_job(cluster: SlurmCluster, argv: list[str], out: Path) -> str:
    """``argv`` (an ``srun`` or ``salloc``) to its end; every node's output, also on failure."""
    out.mkdir()

    def outputs() -> str:
        return "\n".join(f"--- {p.name}:\n{p.read_text()}" for p in sorted(out.iterdir()))

    try:
        done = cluster.run(argv, timeout=JOB_TIMEOUT)
    except subprocess.TimeoutExpired:
        cluster.cancel_all()  # the module's next test finds the nodes free
        pytest.fail(f"no end within {JOB_TIMEOUT}s\n{outputs()}\n{cluster.logs()}")
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr}\n{outputs()}"
    return outputs()


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


def test_config_in_a_step_shows_the_rendezvous_read_from_slurm(
    slurm: SlurmCluster, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    config = ["sh", "-c", 'echo "STEP $SLURM_JOB_ID.$SLURM_STEP_ID"; exec "$0" config']
    run_job(slurm, [*srun(out, 3), *config, RENDEZVOUS_DI], out)

    for node in slurm.nodes:
        lines = (out / f"{node}.out").read_text().splitlines()
        step = lines[0].removeprefix("STEP ")
        rows = {tuple(line.split("\t")) for line in lines[1:]}
        expected = {
            ("backend", "c10d", "slurm"),
            ("endpoint", "rdzs1:29400", "slurm SLURM_JOB_NODELIST"),
            ("min_nodes", "3", "slurm SLURM_JOB_NUM_NODES"),
            ("max_nodes", "3", "slurm SLURM_JOB_NUM_NODES"),
            ("run_id", step, "slurm SLURM_JOB_ID.SLURM_STEP_ID"),
        }
        assert expected <= rows, f"{node}:\n" + "\n".join(lines)


def test_srun_without_rendezvous_flags_forms_one_job_across_the_nodes(
    slurm: SlurmCluster, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    outputs = run_job(slurm, [*srun(out, 3), *RUN], out)

    reports = workers(outputs)
    assert_one_job(reports, slurm.nodes, outputs)
    # The step's own rendezvous: SLURM_JOB_ID.SLURM_STEP_ID.
    steps = {f"{r['slurm_job']}.{r['slurm_step']}" for r in reports}
    assert {r["run_id"] for r in reports} == steps


def test_a_narrower_step_in_an_allocation_forms_a_job_of_the_step_nodes(
    slurm: SlurmCluster, tmp_path: Path
) -> None:
    # salloc holds all three nodes (SLURM_JOB_NUM_NODES=3); its step runs on two of them.
    out = tmp_path / "out"
    outputs = run_job(slurm, ["salloc", "--nodes=3", "--time=4", *srun(out, 2), *RUN], out)

    reports = workers(outputs)
    (step_nodes,) = {r["step_nodes"] for r in reports}
    names = slurm.run(["scontrol", "show", "hostnames", step_nodes]).stdout.split()
    assert len(names) == 2
    assert_one_job(reports, names, outputs)
    assert {r["run_id"] for r in reports} == {
        f"{r['slurm_job']}.{r['slurm_step']}" for r in reports
    }


def test_flags_taken_by_hand_from_the_step_still_form_one_job(
    slurm: SlurmCluster, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    by_hand = ["sh", "-c", BY_HAND, RENDEZVOUS_DI, "--nproc-per-node", "1", str(TRAIN)]
    outputs = run_job(slurm, [*srun(out, 3), *by_hand], out)

    reports = workers(outputs)
    assert_one_job(reports, slurm.nodes, outputs)
    assert {r["run_id"] for r in reports} == {r["slurm_job"] for r in reports}


def batch_script(path: Path, line: list[str]) -> Path:
    """A batch script running ``line``, as a user writes one for ``sbatch``."""
    path.write_text(f"#!/bin/sh\n{shlex.join(line)}\n")
    path.chmod(0o755)
    return path


def sbatch(out: Path, nodes: int, script: Path) -> list[str]:
    """``sbatch -N NODES`` of ``script``, to the job's end, its output in ``out/batch.out``."""
    return [
        "sbatch",
        f"--nodes={nodes}",
        "--wait",
        f"--output={out}/batch.out",
        "--time=4",
        str(script),
    ]


def run_batch(
    cluster: SlurmCluster, argv: list[str], out: Path
) -> subprocess.CompletedProcess[str]:
    """An ``sbatch --wait`` to its end; the job gets cancelled if the test gives up on it."""
    out.mkdir()
    try:
        return cluster.run(argv, timeout=JOB_TIMEOUT)
    except subprocess.TimeoutExpired:
        cluster.cancel_all()
        shown = "\n".join(f"--- {p.name}:\n{p.read_text()}" for p in sorted(out.iterdir()))
        pytest.fail(f"no end within {JOB_TIMEOUT}s\n{shown}\n{cluster.logs()}")


def test_run_in_a_multi_node_batch_script_exits_2_saying_to_start_an_agent_per_node(
    slurm: SlurmCluster, tmp_path: Path
) -> None:
    # The script of `sbatch -N3` runs on the first node only: one agent there would wait for 3.
    out = tmp_path / "out"
    script = batch_script(tmp_path / "job.sh", RUN)
    done = run_batch(slurm, sbatch(out, 3, script), out)

    output = (out / "batch.out").read_text()
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert done.returncode == 2, f"{done.stdout}{done.stderr}\n{output}"
    assert len(errors) == 1, output
    assert errors[0].startswith(
        "error: nnodes (from slurm SLURM_JOB_NUM_NODES): SLURM_JOB_NUM_NODES=3 but this is the "
        "batch script of a 3-node job"
    )
    assert "srun --ntasks-per-node=1 rendezvous-di run" in errors[0]
    assert "Traceback" not in output


def test_srun_in_a_batch_script_forms_one_job_across_its_nodes(
    slurm: SlurmCluster, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    step = ["srun", "--ntasks-per-node=1", f"--output={out}/%N.out", "--kill-on-bad-exit=1"]
    script = batch_script(tmp_path / "job.sh", [*step, *RUN])
    done = run_batch(slurm, sbatch(out, 3, script), out)

    outputs = "\n".join(f"--- {p.name}:\n{p.read_text()}" for p in sorted(out.iterdir()))
    assert done.returncode == 0, f"{done.stdout}{done.stderr}\n{outputs}"
    reports = workers(outputs)
    assert_one_job(reports, slurm.nodes, outputs)
    assert {r["run_id"] for r in reports} == {
        f"{r['slurm_job']}.{r['slurm_step']}" for r in reports
    }


def test_run_in_sallocs_shell_exits_2_saying_to_use_srun(slurm: SlurmCluster) -> None:
    # salloc's shell runs on the submit host, with the allocation's variables but as no node.
    done = slurm.run(["salloc", "--nodes=3", "--time=4", *RUN], timeout=120)

    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 2, done.stderr
    assert len(errors) == 1, done.stderr
    assert "SLURMD_NODENAME" in errors[0]
    assert "srun" in errors[0]
    assert "Traceback" not in done.stderr
