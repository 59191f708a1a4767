"""Scheduler detection on the environments real Slurm programs got (``recorded/``).

Each file in ``recorded/`` was recorded by the Slurm harness from a real run
(test_cluster.py records them afresh and checks each still has exactly the
variables a fresh run exports). Reading them needs no Slurm, so this runs
everywhere, fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rendezvous_di.errors import ConfigError

RECORDED = Path(__file__).with_name("recorded")


def recorded(kind: str) -> tuple[str, dict[str, str]]:
    """The host a recorded program ran on, and its environment."""
    recording = json.loads((RECORDED / f"{kind}.json").read_text())
    return recording["host"], recording["environ"]


def test_a_one_node_step_meets_at_its_node(container: Any) -> None:
    host, env = recorded("srun-1node")
    container.environ.override(env)
    settings = container.settings()

    assert settings.backend == "c10d"
    assert settings.endpoint == f"{host}:29400"
    assert (settings.min_nodes, settings.max_nodes) == (1, 1)
    assert settings.run_id == f"{env['SLURM_JOB_ID']}.{env['SLURM_STEP_ID']}"
    assert settings.source_of("endpoint") == "slurm SLURM_JOB_NODELIST"


def test_a_two_node_step_of_a_three_node_allocation_meets_as_two(container: Any) -> None:
    _, env = recorded("step-2of3node")
    container.environ.override(env)
    settings = container.settings()

    assert settings.endpoint == "rdzs1:29400"
    assert (settings.min_nodes, settings.max_nodes) == (2, 2)
    assert settings.source_of("max_nodes") == "slurm SLURM_STEP_NUM_NODES"
    assert settings.run_id == f"{env['SLURM_JOB_ID']}.{env['SLURM_STEP_ID']}"


def test_a_step_inside_salloc_is_not_taken_for_a_heterogeneous_job(container: Any) -> None:
    # Slurm 22.05 sets SLURM_JOB_CPUS_PER_NODE_PACK_GROUP_0 in such a step: not a second component.
    _, env = recorded("step-2of3node")
    assert "SLURM_JOB_CPUS_PER_NODE_PACK_GROUP_0" in env
    container.environ.override(env)

    assert container.settings().source_of("endpoint") == "slurm SLURM_STEP_NODELIST"


def test_a_heterogeneous_job_is_not_guessed(container: Any) -> None:
    _, env = recorded("het-step-1+2node")
    container.environ.override(env)
    with pytest.raises(ConfigError) as caught:
        container.settings()

    assert caught.value.field == "endpoint"
    assert "heterogeneous Slurm job (SLURM_HET_SIZE=2)" in str(caught.value)


def test_sallocs_shell_is_told_to_start_the_agents_with_srun(container: Any) -> None:
    _, env = recorded("salloc-3node")
    container.environ.override(env)
    with pytest.raises(ConfigError) as caught:
        container.settings()

    assert caught.value.field == "endpoint"
    assert "SLURMD_NODENAME is not set" in str(caught.value)
    assert "srun" in str(caught.value)


def test_a_multi_node_batch_script_is_told_to_start_one_agent_per_node(container: Any) -> None:
    # The script of `sbatch --nodes=3` runs on the first node only, in no srun step.
    host, env = recorded("sbatch-3node")
    assert (env["SLURMD_NODENAME"], env["SLURM_JOB_NUM_NODES"]) == (host, "3")
    assert "SLURM_STEP_ID" not in env
    container.environ.override(env)
    with pytest.raises(ConfigError) as caught:
        container.settings()

    assert (caught.value.field, caught.value.source) == ("nnodes", "slurm SLURM_JOB_NUM_NODES")
    assert "batch script of a 3-node job" in str(caught.value)
    assert "srun --ntasks-per-node=1" in str(caught.value)
    # With one node asked for, it trains there: the store on this node, the job's id.
    container.config.from_dict({"nnodes": "1"})
    settings = container.settings()
    assert (settings.endpoint, settings.max_nodes) == (f"{host}:29400", 1)
    assert settings.run_id == env["SLURM_JOB_ID"]
