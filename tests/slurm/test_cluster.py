"""The Slurm harness is a real cluster: ``srun`` steps run on three nodes with Slurm's own
environment, and the environments a job's programs get are recorded from real runs.

The recordings are what scheduler detection is tested against: `record`
writes each as a JSON fixture from the real program, and ``recorded/`` next to
this file holds one of each kind, committed as data (regenerate them with
``RDZV_RECORD_SLURM_SAMPLE=1``): a one-node ``srun`` step, the shell ``salloc``
gives on the submit host, an ``sbatch`` script, a 2-node step of a 3-node
allocation, and a step over both components of a heterogeneous job. The test checks each sample
still has exactly the variables a fresh run exports.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slow

RECORDED = Path(__file__).with_name("recorded")
# Prints the program's view: host name, Slurm's variables, and where the job's first node
# resolves to (the c10d endpoint's host must resolve on every node).
REPORT = """
import json, os, socket, subprocess
first = subprocess.run(["scontrol", "show", "hostnames", os.environ["SLURM_JOB_NODELIST"]],
                       capture_output=True, text=True, check=True).stdout.split()[0]
env = {k: v for k, v in os.environ.items() if k.startswith("SLURM")}
print("STEP " + json.dumps({"host": socket.gethostname(), "first": first,
                            "first_address": socket.gethostbyname(first), "env": env}))
"""
# How each kind of program is started: ``{out}`` a directory for output files, ``{report}``
# the command printing REPORT.
KINDS = {
    "srun-1node": "srun --nodes=1 --output={out}/task-%t.out {report}",
    "salloc-3node": "salloc --nodes=3 {report}",
    "sbatch-3node": "sbatch --nodes=3 --wait --output={out}/batch.out --wrap '{report}'",
    "step-2of3node": "salloc --nodes=3 srun --nodes=2 --output={out}/task-%t.out {report}",
    "het-step-1+2node": "salloc --nodes=1 : --nodes=2 srun --het-group=0,1"
    " --output={out}/task-%t.out {report}",
}


def reports(cluster: SlurmCluster, argv: list[str], out: Path) -> list[dict[str, Any]]:
    """Each report printed by ``argv``, from its stdout and the output files in ``out``
    (srun's own stdout interleaves long lines of several tasks: steps write files)."""
    done = cluster.run(argv, timeout=120)
    outputs = "\n".join([done.stdout, *(p.read_text() for p in sorted(out.iterdir()))])
    assert done.returncode == 0, f"{done.stderr}\n{outputs}\n{cluster.logs()}"
    lines = [line for line in outputs.splitlines() if line.startswith("STEP ")]
    return [json.loads(line.removeprefix("STEP ")) for line in lines]


def launch(kind: str, out: Path) -> list[str]:
    """The command line of ``kind`` (a key of KINDS), its reporter's script in ``out``."""
    out.mkdir()
    script = out / "report.py"
    script.write_text(REPORT)
    return shlex.split(KINDS[kind].format(out=out, report=f"{sys.executable} {script}"))


def record(cluster: SlurmCluster, kind: str, path: Path) -> dict[str, Any]:
    """The environment a real program of ``kind`` gets, written to ``path`` as JSON."""
    found = reports(cluster, launch(kind, path.with_suffix(".out")), path.with_suffix(".out"))
    report = min(found, key=lambda r: int(r["env"].get("SLURM_PROCID", "0")))  # task 0's
    version = cluster.run(["srun", "--version"]).stdout.strip()
    recording = {
        "recorded_by": "tests/slurm/test_cluster.py (tests.support.slurm_cluster), from a "
        f"real run: {KINDS[kind].format(out='OUT', report='python report.py')}",
        "slurm": version,
        "host": report["host"],
        "environ": dict(sorted(report["env"].items())),
    }
    path.write_text(json.dumps(recording, indent=2) + "\n")
    return recording


def test_a_three_node_step_runs_once_on_every_node(slurm: SlurmCluster, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    argv = ["srun", "--nodes=3", f"--output={out}/task-%t.out", sys.executable, "-c", REPORT]
    steps = reports(slurm, argv, out)

    assert sorted(r["host"] for r in steps) == slurm.nodes
    assert sorted(r["env"]["SLURM_PROCID"] for r in steps) == ["0", "1", "2"]
    for report in steps:
        env = report["env"]
        assert env["SLURMD_NODENAME"] == report["host"]
        assert env["SLURM_JOB_NODELIST"] == env["SLURM_STEP_NODELIST"] == "rdzs[1-3]"
        assert env["SLURM_JOB_NUM_NODES"] == env["SLURM_NNODES"] == "3"
        assert env["SLURM_JOB_ID"].isdigit()
        # The first node is host 1, and every node reaches it by name.
        assert (report["first"], report["first_address"]) == ("rdzs1", "10.213.0.1")
    assert len({r["env"]["SLURM_JOB_ID"] for r in steps}) == 1


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_environment_of_each_kind_of_program_is_recorded(
    slurm: SlurmCluster, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / f"{kind}.json"
    recording = record(slurm, kind, path)
    sample_path = RECORDED / f"{kind}.json"
    if os.environ.get("RDZV_RECORD_SLURM_SAMPLE"):
        sample_path.write_text(path.read_text())

    assert json.loads(path.read_text()) == recording
    assert recording["slurm"].startswith("slurm")
    env, host = recording["environ"], recording["host"]
    assert env["SLURM_JOB_ID"].isdigit()
    if kind == "srun-1node":
        assert env["SLURM_JOB_NODELIST"] == env["SLURMD_NODENAME"] == host
        assert host in slurm.nodes
        assert env["SLURM_JOB_NUM_NODES"] == env["SLURM_NNODES"] == env["SLURM_NTASKS"] == "1"
        assert env["SLURM_STEP_ID"].isdigit()
    elif kind == "het-step-1+2node":
        assert env["SLURM_HET_SIZE"] == "2"
        assert env["SLURM_JOB_NODELIST_HET_GROUP_0"] == "rdzs1"
        assert env["SLURM_JOB_NODELIST_HET_GROUP_1"] == "rdzs[2-3]"
    elif kind == "step-2of3node":
        assert env["SLURM_JOB_NODELIST"] == "rdzs[1-3]"
        assert env["SLURM_JOB_NUM_NODES"] == "3"
        assert env["SLURM_STEP_NUM_NODES"] == "2"
        assert env["SLURMD_NODENAME"] == host
    else:
        # salloc's shell and a batch script: the whole allocation, and no step of it.
        assert env["SLURM_JOB_NODELIST"] == "rdzs[1-3]"
        assert env["SLURM_JOB_NUM_NODES"] == env["SLURM_NNODES"] == "3"
        assert "SLURM_STEP_ID" not in env
        # salloc's shell runs where salloc ran (the submit host, not as a node of the job);
        # the batch script runs on the job's first node.
        assert env.get("SLURMD_NODENAME") == (None if kind == "salloc-3node" else "rdzs1")
        assert host == "rdzs1"
    # The committed sample is such a recording: the same variables, from the same Slurm.
    sample = json.loads(sample_path.read_text())
    assert sorted(sample["environ"]) == sorted(env)
    assert sample["slurm"] == recording["slurm"]
