"""The Slurm harness is a real cluster: ``srun`` steps run on three nodes with Slurm's own
environment, and the environment of a one-node step is recorded from a real run.

The recording is what scheduler detection is tested against: `record_step`
writes it as a JSON fixture from the step itself, and ``srun_environ_1node.json``
next to this file is one such recording, committed as data (regenerate it with
``RDZV_RECORD_SLURM_SAMPLE=1``); the test checks the sample still has exactly the
variables a fresh step exports.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).with_name("srun_environ_1node.json")
# Prints, from inside the step, the node's view: host name, Slurm's variables, and where the
# job's first node resolves to (the c10d endpoint's host must resolve on every node).
REPORT = """
import json, os, socket, subprocess
first = subprocess.run(["scontrol", "show", "hostnames", os.environ["SLURM_JOB_NODELIST"]],
                       capture_output=True, text=True, check=True).stdout.split()[0]
env = {k: v for k, v in os.environ.items() if k.startswith("SLURM")}
print("STEP " + json.dumps({"host": socket.gethostname(), "first": first,
                            "first_address": socket.gethostbyname(first), "env": env}))
"""


def step_reports(cluster: SlurmCluster, srun_args: list[str], out: Path) -> list[dict[str, Any]]:
    """Each task's report of ``srun SRUN_ARGS python -c REPORT``, one file per task in
    ``out`` (srun's own stdout interleaves long lines of several tasks)."""
    out.mkdir()
    argv = ["srun", f"--output={out}/task-%t.out", *srun_args, sys.executable, "-c", REPORT]
    done = cluster.run(argv, timeout=120)
    outputs = "\n".join(p.read_text() for p in sorted(out.iterdir()))
    assert done.returncode == 0, f"{done.stderr}\n{outputs}\n{cluster.logs()}"
    lines = [line for line in outputs.splitlines() if line.startswith("STEP ")]
    return [json.loads(line.removeprefix("STEP ")) for line in lines]


def record_step(cluster: SlurmCluster, path: Path) -> dict[str, Any]:
    """The environment a real one-node ``srun`` step exports, written to ``path`` as JSON."""
    (report,) = step_reports(cluster, ["--nodes=1"], path.with_suffix(".out"))
    version = cluster.run(["srun", "--version"]).stdout.strip()
    recording = {
        "recorded_by": "tests/slurm/test_cluster.py (tests.support.slurm_cluster), from a "
        "real step: srun --nodes=1 python -c REPORT",
        "slurm": version,
        "host": report["host"],
        "environ": dict(sorted(report["env"].items())),
    }
    path.write_text(json.dumps(recording, indent=2) + "\n")
    return recording


def test_a_three_node_step_runs_once_on_every_node(slurm: SlurmCluster, tmp_path: Path) -> None:
    reports = step_reports(slurm, ["--nodes=3"], tmp_path / "out")

    assert sorted(r["host"] for r in reports) == slurm.nodes
    assert sorted(r["env"]["SLURM_PROCID"] for r in reports) == ["0", "1", "2"]
    for report in reports:
        env = report["env"]
        assert env["SLURMD_NODENAME"] == report["host"]
        assert env["SLURM_JOB_NODELIST"] == env["SLURM_STEP_NODELIST"] == "rdzs[1-3]"
        assert env["SLURM_JOB_NUM_NODES"] == env["SLURM_NNODES"] == "3"
        assert env["SLURM_JOB_ID"].isdigit()
        # The first node is host 1, and every node reaches it by name.
        assert (report["first"], report["first_address"]) == ("rdzs1", "10.213.0.1")
    assert len({r["env"]["SLURM_JOB_ID"] for r in reports}) == 1


def test_a_one_node_step_environment_is_recorded(slurm: SlurmCluster, tmp_path: Path) -> None:
    recording = record_step(slurm, tmp_path / "srun_environ.json")
    if os.environ.get("RDZV_RECORD_SLURM_SAMPLE"):
        SAMPLE.write_text((tmp_path / "srun_environ.json").read_text())

    env = recording["environ"]
    assert json.loads((tmp_path / "srun_environ.json").read_text()) == recording
    assert recording["slurm"].startswith("slurm")
    assert env["SLURM_JOB_NODELIST"] == env["SLURMD_NODENAME"] == recording["host"]
    assert recording["host"] in slurm.nodes
    assert env["SLURM_JOB_NUM_NODES"] == env["SLURM_NNODES"] == env["SLURM_NTASKS"] == "1"
    assert env["SLURM_JOB_ID"].isdigit()
    assert env["SLURM_STEP_ID"].isdigit()
    # The committed sample is such a recording: the same variables, from the same Slurm.
    sample = json.loads(SAMPLE.read_text())
    assert sorted(sample["environ"]) == sorted(env)
    assert sample["slurm"] == recording["slurm"]
