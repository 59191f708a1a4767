"""Scheduler environments as a source: detection, precedence and provenance, through the container.

Each environment is what the scheduler really sets (variable names and value
shapes from a Slurm batch script and ``srun`` step, and from the Kubeflow
operators' sources), handed to the container's ``environ`` provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from rendezvous_di import RendezvousContainer, SchedulerDetector, fixed_scheduler
from rendezvous_di.config.layers import Layer
from rendezvous_di.config.settings import RendezvousSettings
from rendezvous_di.config.sources import FlagValue
from rendezvous_di.errors import ConfigError

BATCH = {
    "SLURM_CLUSTER_NAME": "hpc",
    "SLURM_JOB_ID": "81234",
    "SLURM_JOBID": "81234",
    "SLURM_JOB_NAME": "train",
    "SLURM_JOB_PARTITION": "gpu",
    "SLURM_JOB_NODELIST": "gpu[017-018,020]",
    "SLURM_NODELIST": "gpu[017-018,020]",
    "SLURM_JOB_NUM_NODES": "3",
    "SLURM_NNODES": "3",
    "SLURM_NTASKS": "3",
    "SLURM_TASKS_PER_NODE": "1(x3)",
    "SLURM_NODEID": "0",
    "SLURM_PROCID": "0",
    "SLURMD_NODENAME": "gpu017",
    "SLURM_SUBMIT_DIR": "/home/alice",
    "HOSTNAME": "gpu017",
}
"""A batch script's environment in a 3-node allocation: it runs on the first node only."""

STEP = {
    **BATCH,
    "SLURM_STEP_ID": "0",
    "SLURM_STEPID": "0",
    "SLURM_STEP_NODELIST": "gpu[017-018,020]",
    "SLURM_STEP_NUM_NODES": "3",
    "SLURM_STEP_NUM_TASKS": "3",
}
"""``srun --ntasks-per-node=1 rendezvous-di run ...`` (step 0) over the whole allocation,
its task on the first node: where the agents of a multi-node job run."""

SRUN = {
    **STEP,
    "SLURM_NODEID": "1",
    "SLURM_PROCID": "1",
    "SLURMD_NODENAME": "gpu018",
}
"""The same step's task on the second node."""

ONE_NODE_BATCH = {
    **BATCH,
    "SLURM_JOB_NODELIST": "gpu017",
    "SLURM_NODELIST": "gpu017",
    "SLURM_JOB_NUM_NODES": "1",
    "SLURM_NNODES": "1",
    "SLURM_NTASKS": "1",
    "SLURM_TASKS_PER_NODE": "1",
}
"""``sbatch -N1``'s script: its node is the whole job."""

NARROW_STEP = {
    **BATCH,
    "SLURM_STEP_ID": "2",
    "SLURM_STEPID": "2",
    "SLURM_STEP_NODELIST": "gpu[018,020]",
    "SLURM_STEP_NUM_NODES": "2",
    "SLURM_NNODES": "2",  # srun sets the step's count here
    "SLURM_NODELIST": "gpu[018,020]",
    "SLURM_JOB_CPUS_PER_NODE_PACK_GROUP_0": "1(x3)",  # in a plain step too (Slurm 22.05)
}
"""``srun -N2`` inside the 3-node allocation (as the Slurm tests recorded one)."""

TRAINER_V2 = {
    "KUBERNETES_SERVICE_HOST": "10.96.0.1",
    "KUBERNETES_SERVICE_PORT": "443",
    "HOSTNAME": "llama-node-0-1-x7k2p",
    "PET_NNODES": "2",
    "PET_NPROC_PER_NODE": "4",
    "PET_NODE_RANK": "1",
    "PET_MASTER_ADDR": "llama-node-0-0.llama",
    "PET_MASTER_PORT": "29400",
}
"""A Kubeflow Trainer v2 TrainJob's second node (its Torch plugin's variables)."""

PYTORCHJOB = {
    "KUBERNETES_SERVICE_HOST": "10.96.0.1",
    "PYTHONUNBUFFERED": "0",
    "MASTER_PORT": "23456",
    "MASTER_ADDR": "mnist-master-0",
    "WORLD_SIZE": "8",
    "RANK": "1",
    "PET_NPROC_PER_NODE": "4",
    "PET_NODE_RANK": "1",
    "PET_NNODES": "2",
}
"""A PyTorchJob (training operator v1.7+) worker pod, with a Master replica, not elastic."""

PYTORCHJOB_ELASTIC = {
    "KUBERNETES_SERVICE_HOST": "10.96.0.1",
    "PET_RDZV_ENDPOINT": "elastic-worker-0:23456",
    "PET_RDZV_BACKEND": "c10d",
    "PET_NNODES": "1:3",
    "PET_MAX_RESTARTS": "3",
}
"""An elastic PyTorchJob's worker pod."""


def settings(
    env: Mapping[str, str],
    *,
    flags: dict[str, Any] | None = None,
    file: Path | None = None,
    config: dict[str, Any] | None = None,
) -> RendezvousSettings:
    container = RendezvousContainer()
    container.environ.override(dict(env))
    if flags is not None:
        container.flags.override(flags)
    if file is not None:
        container.config_file.override(str(file))
    if config is not None:
        container.config.from_dict(config)
    result: RendezvousSettings = container.settings()
    return result


def yaml_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(text)
    return path


# Slurm


def test_an_srun_step_gets_what_torchrun_users_write_by_hand() -> None:
    got = settings(STEP)
    assert got.scheduler == "slurm"
    assert (got.backend, got.endpoint, got.run_id) == ("c10d", "gpu017:29400", "81234.0")
    assert (got.min_nodes, got.max_nodes) == (3, 3)
    assert got.source_of("endpoint") == "slurm SLURM_JOB_NODELIST"
    assert got.source_of("max_nodes") == "slurm SLURM_JOB_NUM_NODES"
    assert got.source_of("run_id") == "slurm SLURM_JOB_ID.SLURM_STEP_ID"
    assert got.source_of("backend") == "slurm"
    assert got.source_of("scheduler") == (
        "auto, detected: SLURM_JOB_ID=81234, SLURM_JOB_NODELIST=gpu[017-018,020]"
    )


def test_older_names_are_read_when_the_job_ones_are_missing() -> None:
    env = {k: v for k, v in STEP.items() if k not in ("SLURM_JOB_NODELIST", "SLURM_JOB_NUM_NODES")}
    got = settings(env)
    assert got.endpoint == "gpu017:29400"
    assert got.source_of("endpoint") == "slurm SLURM_NODELIST"
    assert got.source_of("min_nodes") == "slurm SLURM_NNODES"


def test_without_a_count_the_node_list_gives_it() -> None:
    env = {k: v for k, v in STEP.items() if k not in ("SLURM_JOB_NUM_NODES", "SLURM_NNODES")}
    got = settings(env)
    assert (got.min_nodes, got.max_nodes) == (3, 3)
    assert got.source_of("max_nodes") == "slurm SLURM_JOB_NODELIST"


def test_a_step_over_the_whole_allocation_shares_one_run_id_per_step() -> None:
    got = settings(SRUN)
    assert (got.endpoint, got.max_nodes) == ("gpu017:29400", 3)
    assert got.source_of("endpoint") == "slurm SLURM_JOB_NODELIST"
    # Two steps of one job at once must not meet in one rendezvous.
    assert got.run_id == "81234.0"
    assert got.source_of("run_id") == "slurm SLURM_JOB_ID.SLURM_STEP_ID"
    assert settings({**SRUN, "SLURM_STEP_ID": "1", "SLURM_STEPID": "1"}).run_id == "81234.1"


def test_a_step_narrower_than_the_allocation_meets_on_its_own_nodes() -> None:
    got = settings(NARROW_STEP)
    assert (got.endpoint, got.min_nodes, got.max_nodes) == ("gpu018:29400", 2, 2)
    assert got.source_of("endpoint") == "slurm SLURM_STEP_NODELIST"
    assert got.source_of("max_nodes") == "slurm SLURM_STEP_NUM_NODES"
    assert got.run_id == "81234.2"


@pytest.mark.parametrize(
    "marker",
    [
        {"SLURM_HET_SIZE": "2"},
        {"SLURM_PACK_SIZE": "2"},
        {"SLURM_JOB_NODELIST_HET_GROUP_0": "gpu[017-018]"},
        {"SLURM_JOB_NODELIST_PACK_GROUP_1": "gpu020"},
    ],
)
def test_a_heterogeneous_job_gets_a_clear_answer_not_a_guess(marker: dict[str, str]) -> None:
    env = {**STEP, **marker}
    ((name, value),) = marker.items()
    with pytest.raises(ConfigError) as caught:
        settings(env)
    message = str(caught.value)
    assert f"from slurm {name}" in message
    assert f"heterogeneous Slurm job ({name}={value})" in message
    assert "--rdzv-endpoint" in message
    assert "--scheduler none" in message
    # Doing what it says works, with the rest still from Slurm.
    given = {
        "endpoint": "gpu017:29400",
        "nnodes": "3",
        "run_id": "81234-het",
    }
    got = settings(env, flags=given)
    assert (got.endpoint, got.max_nodes, got.run_id) == ("gpu017:29400", 3, "81234-het")
    assert got.backend == "c10d"
    assert got.source_of("backend") == "slurm"
    assert settings(env, flags={"scheduler": "none"}).scheduler == "none"


@pytest.mark.parametrize(
    ("change", "variable", "shown"),
    [
        ({"SLURM_JOB_NODELIST": "gpu[018-017]"}, "SLURM_JOB_NODELIST", "gpu[018-017]"),
        ({"SLURM_JOB_NODELIST": "gpu[1-2]-ib"}, "SLURM_JOB_NODELIST", "gpu[1-2]-ib"),
        ({"SLURM_JOB_NUM_NODES": "three"}, "SLURM_JOB_NUM_NODES", "three"),
        ({"SLURM_JOB_NUM_NODES": "4"}, "SLURM_JOB_NUM_NODES", "names 3 node(s)"),
        ({"SLURM_JOB_ID": "81234abc"}, "SLURM_JOB_ID", "81234abc"),
        ({**SRUN, "SLURM_STEP_ID": "x"}, "SLURM_STEP_ID", "'x'"),
        ({**SRUN, "SLURM_STEP_NODELIST": "gpu[020-018]"}, "SLURM_STEP_NODELIST", "counts down"),
        ({**SRUN, "SLURM_STEP_NUM_NODES": "4"}, "SLURM_STEP_NUM_NODES", "names 3 node(s)"),
    ],
)
def test_a_malformed_variable_is_named_with_its_value(
    change: dict[str, str], variable: str, shown: str
) -> None:
    # The job's variables in its batch script; inside a step, the step's are read too.
    with pytest.raises(ConfigError) as caught:
        settings({**BATCH, **change})
    assert f"from slurm {variable}" in str(caught.value)
    assert shown in str(caught.value)


def test_undecodable_bytes_in_a_variable_are_named_and_shown_escaped() -> None:
    env = {**BATCH, "SLURM_JOB_NODELIST": "gpu\udcff1", "SLURM_JOB_NUM_NODES": "1"}
    with pytest.raises(ConfigError) as caught:
        settings(env)
    assert "SLURM_JOB_NODELIST='gpu\\udcff1' is not a Slurm hostlist" in str(caught.value)
    got = settings({**STEP, "SLURM_JOB_ID": "81\udcff"}, flags={"run_id": "given"})
    assert "SLURM_JOB_ID=81\\udcff" in got.source_of("scheduler")
    got.source_of("scheduler").encode("utf-8")  # printable


def test_a_malformed_value_given_above_does_not_matter() -> None:
    env = {**STEP, "SLURM_STEP_NODELIST": "gpu[018-017]"}
    with pytest.raises(ConfigError, match="SLURM_STEP_NODELIST='gpu\\[018-017\\]'"):
        settings(env)
    got = settings(env, flags={"endpoint": "head:29400"})
    assert (got.endpoint, got.max_nodes) == ("head:29400", 3)
    assert got.run_id == "81234.0"


def test_sallocs_shell_on_the_submit_host_is_told_to_use_srun() -> None:
    salloc = {k: v for k, v in BATCH.items() if k != "SLURMD_NODENAME"}
    with pytest.raises(ConfigError) as caught:
        settings(salloc)
    assert caught.value.field == "endpoint"
    assert "SLURMD_NODENAME is not set: this is salloc's shell" in str(caught.value)
    assert "srun --ntasks-per-node=1" in str(caught.value)
    got = settings(salloc, flags={"endpoint": "login1:29400"})
    assert (got.endpoint, got.run_id, got.max_nodes) == ("login1:29400", "81234", 3)
    # Not a batch script either: its count is the allocation's, and --nnodes 1 is no way out.
    with pytest.raises(ConfigError) as caught:
        settings(salloc, flags={"nnodes": "1"})
    assert caught.value.field == "endpoint"


def test_a_multi_node_batch_script_is_told_to_start_one_agent_per_node() -> None:
    # The script runs on the first node only: one agent there would wait for all three.
    with pytest.raises(ConfigError) as caught:
        settings(BATCH)
    error = caught.value
    assert (error.field, error.source) == ("nnodes", "slurm SLURM_JOB_NUM_NODES")
    message = str(error)
    assert message.startswith(
        "nnodes (from slurm SLURM_JOB_NUM_NODES): SLURM_JOB_NUM_NODES=3 but this is the batch "
        "script of a 3-node job, which runs on its first node only, so one agent would wait for 3"
    )
    assert "srun --ntasks-per-node=1 rendezvous-di run" in message
    assert "--nnodes 1 to train on this node alone" in message
    assert "\n" not in message
    # Without a count, the node list gives it and is the variable named.
    no_count = {k: v for k, v in BATCH.items() if k not in ("SLURM_JOB_NUM_NODES", "SLURM_NNODES")}
    with pytest.raises(ConfigError) as caught:
        settings(no_count)
    assert str(caught.value).startswith(
        "nnodes (from slurm SLURM_JOB_NODELIST): SLURM_JOB_NODELIST=gpu[017-018,020] but this "
        "is the batch script of a 3-node job"
    )


def test_a_one_node_batch_script_is_the_whole_job() -> None:
    got = settings(ONE_NODE_BATCH)
    assert (got.endpoint, got.min_nodes, got.max_nodes) == ("gpu017:29400", 1, 1)
    assert got.run_id == "81234"
    assert got.source_of("max_nodes") == "slurm SLURM_JOB_NUM_NODES"


@pytest.mark.parametrize("step_id", ["SLURM_STEP_ID", "SLURM_STEPID"])
def test_either_step_id_says_it_is_a_step_not_the_batch_script(step_id: str) -> None:
    got = settings({**BATCH, step_id: "3"})
    assert (got.max_nodes, got.run_id) == (3, "81234.3")


@pytest.mark.parametrize(
    ("how", "source", "nodes"),
    [
        ({"flags": {"nnodes": "1"}}, "flag --nnodes", 1),
        ({"env": {"PET_NNODES": "1"}}, "env PET_NNODES", 1),
        ({"file": "nnodes: 1\n"}, "file", 1),
        ({"config": {"nnodes": "3"}}, "config", 3),  # agents started elsewhere join this one
    ],
)
def test_a_count_given_above_makes_the_batch_script_work(
    how: dict[str, Any], source: str, nodes: int, tmp_path: Path
) -> None:
    env = {**BATCH, **how.get("env", {})}
    file = yaml_file(tmp_path, how["file"]) if "file" in how else None
    got = settings(env, flags=how.get("flags"), config=how.get("config"), file=file)
    assert (got.min_nodes, got.max_nodes) == (nodes, nodes)
    assert got.source_of("max_nodes").startswith(source)
    # The rest is still Slurm's, and right: this node hosts the store, the job's id.
    assert (got.backend, got.endpoint, got.run_id) == ("c10d", "gpu017:29400", "81234")
    assert got.source_of("endpoint") == "slurm SLURM_JOB_NODELIST"


def test_standalone_in_a_batch_script_is_one_node_of_its_own() -> None:
    got = settings(BATCH, flags={"standalone": True})
    assert (got.endpoint, got.min_nodes, got.max_nodes) == ("localhost:0", 1, 1)


def test_a_job_id_without_a_node_list_is_not_an_allocation() -> None:
    got = settings({"SLURM_JOB_ID": "81234"})
    assert got.scheduler == "none"
    assert "SLURM_JOB_ID is set but none of SLURM_JOB_NODELIST" in got.source_of("scheduler")


# Precedence: defaults < scheduler < file < PET_* < explicit < flags


def test_the_file_beats_slurm_and_slurm_fills_the_rest(tmp_path: Path) -> None:
    file = yaml_file(tmp_path, "endpoint: store.hpc:29400\nrun_id: from-file\n")
    got = settings(STEP, file=file)
    assert (got.endpoint, got.run_id, got.max_nodes) == ("store.hpc:29400", "from-file", 3)
    assert got.source_of("endpoint") == f"file {file}"
    assert got.source_of("max_nodes") == "slurm SLURM_JOB_NUM_NODES"


def test_pet_beats_the_file_explicit_beats_pet_flags_beat_all(tmp_path: Path) -> None:
    file = yaml_file(tmp_path, "run_id: from-file\nnnodes: 5\n")
    env = {**STEP, "PET_RDZV_ID": "from-pet", "PET_NNODES": "6"}
    got = settings(env, file=file)
    assert (got.run_id, got.max_nodes) == ("from-pet", 6)
    got = settings(env, file=file, config={"run_id": "explicit"})
    assert (got.run_id, got.max_nodes) == ("explicit", 6)
    got = settings(env, file=file, config={"run_id": "explicit"}, flags={"run_id": "flag"})
    assert got.run_id == "flag"
    assert got.source_of("run_id") == "flag --rdzv-id"
    assert got.endpoint == "gpu017:29400"  # nothing above gave one


@pytest.mark.parametrize(
    "flags", [{"standalone": True}, {"endpoint": "localhost:0"}], ids=["standalone", "port-0"]
)
def test_a_store_of_this_nodes_own_makes_a_one_node_job(flags: dict[str, Any]) -> None:
    got = settings(SRUN, flags=flags)
    assert (got.endpoint, got.min_nodes, got.max_nodes) == ("localhost:0", 1, 1)
    assert got.scheduler == "slurm"


def test_another_backend_chosen_above_does_not_get_the_c10d_endpoint(tmp_path: Path) -> None:
    file = yaml_file(tmp_path, "backend: etcd-v2\n")
    got = settings(STEP, file=file)
    assert got.backend == "etcd-v2"
    assert got.endpoint != "gpu017:29400"
    assert got.run_id == "81234.0"
    assert got.max_nodes == 3


def test_master_addr_and_port_given_choose_torchruns_static_as_they_do_without_slurm() -> None:
    flags = {"master_addr": "gpu017", "master_port": "29500", "node_rank": "1"}
    got = settings(STEP, flags=flags)
    assert got.backend == "static"
    assert got.endpoint == "gpu017:29500"
    assert got.conf["rank"] == 1
    assert got.max_nodes == 3  # the node count still comes from Slurm


@pytest.mark.parametrize(
    ("how", "source"),
    [
        ({"flags": {"scheduler": FlagValue("none", "--scheduler")}}, "flag --scheduler"),
        ({"env": {"RENDEZVOUS_DI_SCHEDULER": "none"}}, "env RENDEZVOUS_DI_SCHEDULER"),
        ({"config": {"scheduler": "none"}}, "config"),
        ({"file": "scheduler: none\n"}, "file"),
    ],
)
def test_scheduler_none_disables_detection_from_any_source(
    how: dict[str, Any], source: str, tmp_path: Path
) -> None:
    env = {**BATCH, **how.get("env", {})}
    file = yaml_file(tmp_path, how["file"]) if "file" in how else None
    got = settings(env, flags=how.get("flags"), config=how.get("config"), file=file)
    assert got.scheduler == "none"
    assert (got.backend, got.endpoint, got.max_nodes) == ("c10d", "localhost:0", 1)
    assert got.source_of("scheduler").startswith(source)


def test_the_flag_beats_the_variable_for_the_choice_too() -> None:
    env = {**STEP, "RENDEZVOUS_DI_SCHEDULER": "none"}
    got = settings(env, flags={"scheduler": FlagValue("slurm", "--scheduler")})
    assert got.scheduler == "slurm"
    assert got.source_of("scheduler").startswith("flag --scheduler: SLURM_JOB_ID=81234")


@pytest.mark.parametrize(
    ("choice", "env", "expected"),
    [
        ("slurm", {}, "not inside a Slurm allocation: SLURM_JOB_ID is not set"),
        ("slurm", TRAINER_V2, "not inside a Slurm allocation"),
        ("kubeflow", {}, "not inside a Kubeflow pod: KUBERNETES_SERVICE_HOST is not set"),
        ("kubeflow", {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, "none of PET_MASTER_ADDR"),
        ("kubeflow", STEP, "not inside a Kubeflow pod"),
    ],
)
def test_a_scheduler_asked_for_where_there_is_none_is_an_error(
    choice: str, env: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(env, config={"scheduler": choice})
    assert caught.value.field == "scheduler"
    assert caught.value.source == "config"
    assert expected in str(caught.value)


@pytest.mark.parametrize(("value", "hint"), [("slrum", "did you mean 'slurm'?"), (3, None)])
def test_an_unknown_scheduler_names_the_valid_choices(value: object, hint: str | None) -> None:
    with pytest.raises(ConfigError) as caught:
        settings({}, config={"scheduler": value})
    assert caught.value.choices == ("auto", "none", "slurm", "kubeflow")
    assert caught.value.hint == hint


def test_auto_finds_nothing_on_a_plain_machine_and_says_why() -> None:
    got = settings({"HOME": "/root", "MASTER_ADDR": "10.0.0.1"})
    assert got.scheduler == "none"
    assert got.source_of("scheduler") == (
        "auto: none detected (SLURM_JOB_ID is not set; "
        "KUBERNETES_SERVICE_HOST is not set (not a Kubernetes pod))"
    )
    assert got.endpoint == "localhost:0"  # MASTER_ADDR alone is nobody's master


# Kubeflow


def test_trainer_v2_meets_as_torchrun_would_with_its_pet_variables() -> None:
    got = settings(TRAINER_V2)
    assert got.scheduler == "kubeflow"
    assert "PET_MASTER_ADDR=llama-node-0-0.llama (Trainer v2)" in got.source_of("scheduler")
    assert (got.backend, got.endpoint) == ("static", "llama-node-0-0.llama:29400")
    assert got.conf["rank"] == 1
    assert got.max_nodes == 2
    assert got.source_of("endpoint") == (
        "master_addr from env PET_MASTER_ADDR, master_port from env PET_MASTER_PORT"
    )


def test_pytorchjob_masters_variables_count_below_the_file(tmp_path: Path) -> None:
    got = settings(PYTORCHJOB)
    assert got.scheduler == "kubeflow"
    assert (got.backend, got.endpoint) == ("static", "mnist-master-0:23456")
    assert got.source_of("endpoint") == (
        "master_addr from kubeflow MASTER_ADDR, master_port from kubeflow MASTER_PORT"
    )
    assert got.conf["rank"] == 1
    assert got.max_nodes == 2
    file = yaml_file(tmp_path, "master_port: 29999\n")
    assert settings(PYTORCHJOB, file=file).endpoint == "mnist-master-0:29999"


def test_an_elastic_pytorchjob_is_read_from_its_pet_variables() -> None:
    got = settings(PYTORCHJOB_ELASTIC)
    assert got.scheduler == "kubeflow"
    assert (got.backend, got.endpoint) == ("c10d", "elastic-worker-0:23456")
    assert (got.min_nodes, got.max_nodes) == (1, 3)
    assert got.source_of("endpoint") == "env PET_RDZV_ENDPOINT"


def test_kubernetes_alone_is_not_kubeflow() -> None:
    pod = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "MASTER_ADDR": "mine", "WORLD_SIZE": "2"}
    got = settings(pod)
    assert got.scheduler == "none"
    assert got.endpoint == "localhost:0"


# The container's scheduler provider


def test_the_scheduler_provider_can_be_overridden_with_fixed_values() -> None:
    container = RendezvousContainer()
    container.environ.override(dict(STEP))
    lab = fixed_scheduler({"endpoint": "fixed-host:1234", "nnodes": "2"}, name="lab")
    container.scheduler.override(providers.Object(lab))
    got = container.settings()
    assert (got.scheduler, got.endpoint, got.max_nodes) == ("lab", "fixed-host:1234", 2)
    assert got.source_of("endpoint") == "scheduler lab"
    assert got.source_of("scheduler") == "override of scheduler"
    assert not got.run_id.startswith("81234")  # the environment's Slurm is not asked
    layer = Layer()
    layer.set("run_id", "from-a-layer", "test's layer")
    container.scheduler.override(providers.Object(fixed_scheduler(layer)))
    assert container.settings().source_of("run_id") == "test's layer"
    container.scheduler.override(providers.Object(fixed_scheduler(name="none")))
    got = container.settings()
    assert (got.scheduler, got.endpoint) == ("none", "localhost:0")
    container.scheduler.reset_override()
    assert container.settings().endpoint == "gpu017:29400"


def test_fixed_values_are_checked_like_any_source() -> None:
    with pytest.raises(ConfigError, match="did you mean 'endpoint'"):
        fixed_scheduler({"endpiont": "x:1"})


def test_a_platform_may_move_the_slurm_port() -> None:
    container = RendezvousContainer()
    container.environ.override(dict(STEP))
    container.scheduler.override(providers.Object(SchedulerDetector(slurm_port=31000)))
    assert container.settings().endpoint == "gpu017:31000"


def test_an_environ_of_none_reads_no_scheduler_either() -> None:
    container = RendezvousContainer()
    container.environ.override(None)
    assert container.settings().scheduler == "none"
