"""Scheduler detection on the environment a real one-node ``srun`` step exported.

``srun_environ_1node.json`` was recorded by the Slurm harness from a real step
(see test_cluster.py, which checks it still has exactly the variables a fresh
step exports). Reading it needs no Slurm, so this runs everywhere, fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).with_name("srun_environ_1node.json")


def test_the_recorded_step_environment_gives_the_step_rendezvous(container: Any) -> None:
    recording = json.loads(SAMPLE.read_text())
    env = recording["environ"]
    container.environ.override(env)
    settings = container.settings()

    assert settings.backend == "c10d"
    assert settings.endpoint == f"{recording['host']}:29400"
    assert (settings.min_nodes, settings.max_nodes) == (1, 1)
    assert settings.run_id == f"{env['SLURM_JOB_ID']}.{env['SLURM_STEP_ID']}"
    assert settings.source_of("endpoint") == "slurm SLURM_JOB_NODELIST"
