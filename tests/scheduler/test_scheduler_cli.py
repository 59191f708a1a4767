"""The scheduler source on the command line: what ``config`` shows, bad values, a real job."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.support.procs import REPO, free_port, run_cli, run_process

BATCH = {
    "SLURM_JOB_ID": "4242",
    "SLURM_JOB_NODELIST": "node[07-08]",
    "SLURM_JOB_NUM_NODES": "2",
    "SLURM_NNODES": "2",
    "SLURMD_NODENAME": "node07",
}
"""The batch script of a 2-node job (``sbatch -N2``): it runs on the first node only."""
SLURM = {
    **BATCH,
    "SLURM_STEP_ID": "0",
    "SLURM_STEPID": "0",
    "SLURM_STEP_NODELIST": "node[07-08]",
    "SLURM_STEP_NUM_NODES": "2",
}
"""Its step ``srun --ntasks-per-node=1 rendezvous-di ...``, the task on the first node."""
CHOICES = "valid choices: auto, none, slurm, kubeflow"


def rows(stdout: str) -> dict[str, tuple[str, str]]:
    """``config``'s table as {setting: (value, source)}."""
    found = {}
    for line in stdout.splitlines():
        key, value, source = line.split("\t")
        found[key] = (value, source)
    return found


def test_config_shows_the_detected_scheduler_and_why() -> None:
    done = run_cli(["config"], env=SLURM)
    assert done.returncode == 0, done.stderr
    table = rows(done.stdout)
    assert table["scheduler"] == (
        "slurm",
        "auto, detected: SLURM_JOB_ID=4242, SLURM_JOB_NODELIST=node[07-08]",
    )
    assert table["endpoint"] == ("node07:29400", "slurm SLURM_JOB_NODELIST")
    assert table["run_id"] == ("4242.0", "slurm SLURM_JOB_ID.SLURM_STEP_ID")
    assert table["max_nodes"] == ("2", "slurm SLURM_JOB_NUM_NODES")


def test_config_json_has_the_scheduler_field_and_its_reason() -> None:
    done = run_cli(["config", "--json"], env=SLURM)
    report = json.loads(done.stdout)
    assert report["values"]["scheduler"] == "slurm"
    assert report["sources"]["scheduler"].startswith("auto, detected: SLURM_JOB_ID=4242")
    plain = json.loads(run_cli(["config", "--json"]).stdout)
    assert plain["values"]["scheduler"] == "none"
    assert plain["sources"]["scheduler"].startswith("auto: none detected")


@pytest.mark.parametrize("command", [["config"], ["check", "--timeout", "30"]])
def test_scheduler_none_on_the_command_line_disables_detection(command: list[str]) -> None:
    done = run_cli([*command, "--json", "--scheduler", "none"], env=SLURM)
    assert done.returncode == 0, done.stderr
    if command == ["config"]:
        report = json.loads(done.stdout)
        assert report["values"]["endpoint"] == "localhost:0"
        assert report["sources"]["scheduler"] == "flag --scheduler: scheduler none"


@pytest.mark.parametrize(
    ("args", "env", "file", "source"),
    [
        (["--scheduler", "slurmm"], {}, None, "flag --scheduler"),
        ([], {"RENDEZVOUS_DI_SCHEDULER": "pbs"}, None, "env RENDEZVOUS_DI_SCHEDULER"),
        ([], {}, "scheduler: [slurm]\n", "file"),
        (["--scheduler", "x" * 5000], {}, None, "flag --scheduler"),
    ],
)
@pytest.mark.parametrize("command", ["config", "check", "run"])
def test_a_bad_scheduler_exits_2_with_one_line_and_the_choices(
    command: str,
    args: list[str],
    env: dict[str, str],
    file: str | None,
    source: str,
    tmp_path: Path,
) -> None:
    if file is not None:
        path = tmp_path / "job.yaml"
        path.write_text(file)
        args = [*args, "--config", str(path)]
    tail = ["--nproc-per-node", "1", "train.py"] if command == "run" else []
    done = run_cli([command, *args, *tail], env=env)
    assert done.returncode == 2
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"error: scheduler (from {source}")
    assert CHOICES in first
    assert len(first) < 600
    assert "Traceback" not in done.stderr


def test_slurm_asked_for_outside_an_allocation_exits_2() -> None:
    done = run_cli(["config", "--scheduler", "slurm"])
    assert done.returncode == 2
    assert done.stderr.startswith(
        "error: scheduler (from flag --scheduler): not inside a Slurm allocation: "
        "SLURM_JOB_ID is not set"
    )


def test_a_heterogeneous_job_exits_2_saying_what_to_do() -> None:
    done = run_cli(["config"], env={**SLURM, "SLURM_HET_SIZE": "2"})
    assert done.returncode == 2
    first = done.stderr.splitlines()[0]
    assert first.startswith("error: endpoint (from slurm SLURM_HET_SIZE): a heterogeneous")
    assert "--scheduler none" in first


BATCH_ERROR = (
    "error: nnodes (from slurm SLURM_JOB_NUM_NODES): SLURM_JOB_NUM_NODES=2 but this is the "
    "batch script of a 2-node job, which runs on its first node only, so one agent would wait "
    "for 2; start one agent per node with srun (srun --ntasks-per-node=1 rendezvous-di run ...), "
    "or give --nnodes 1 to train on this node alone"
)


@pytest.mark.parametrize(
    "command",
    [
        ["config"],
        ["config", "--json"],
        ["check", "--timeout", "30"],
        ["run", "--dry-run", "--nproc-per-node", "1", "train.py"],
        ["run", "--nproc-per-node", "1", "train.py"],
    ],
)
def test_a_multi_node_batch_script_exits_2_saying_to_use_srun(command: list[str]) -> None:
    done = run_cli(command, env=BATCH)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [BATCH_ERROR]
    assert done.stdout == ""


def test_nnodes_1_in_a_batch_script_trains_on_its_node_with_slurms_endpoint() -> None:
    done = run_cli(["config", "--nnodes", "1"], env=BATCH)
    assert done.returncode == 0, done.stderr
    table = rows(done.stdout)
    assert table["max_nodes"] == ("1", "flag --nnodes")
    assert table["endpoint"] == ("node07:29400", "slurm SLURM_JOB_NODELIST")
    assert table["run_id"] == ("4242", "slurm SLURM_JOB_ID")
    done = run_cli(["config"], env={**BATCH, "PET_NNODES": "1"})
    assert done.returncode == 0, done.stderr
    assert rows(done.stdout)["min_nodes"] == ("1", "env PET_NNODES")


def test_detection_runs_no_process_and_imports_no_torch() -> None:
    # An audit hook sees every process start (subprocess, os.system, os.exec*, spawn).
    code = (
        "import sys\n"
        "events = []\n"
        "sys.addaudithook(lambda e, a: events.append(e) if e in "
        "('subprocess.Popen', 'os.system', 'os.exec', 'os.posix_spawn', 'os.spawn') else None)\n"
        "import rendezvous_di\n"
        "c = rendezvous_di.RendezvousContainer()\n"
        "s = c.settings()\n"
        "assert s.scheduler == 'slurm' and s.endpoint == 'node07:29400', s\n"
        "print(events, [m for m in sys.modules if m == 'torch' or m.startswith('torch.')])\n"
    )
    done = run_process([sys.executable, "-c", code], env=SLURM)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] []"


@pytest.mark.slow
def test_a_one_node_slurm_allocation_runs_a_real_job() -> None:
    port = free_port()
    env = {
        "SLURM_JOB_ID": "777",
        "SLURM_JOB_NUM_NODES": "1",
        "SLURM_NNODES": "1",
        "SLURM_JOB_NODELIST": "localhost",
        "SLURMD_NODENAME": "localhost",
        "TEST_SLURM_PORT": str(port),
    }
    container = "tests.support.slurm_port_container:container"
    worker = str(REPO / "examples" / "allreduce.py")
    done = run_cli(["run", "--container", container, "--nproc-per-node", "2", worker], env=env)
    assert done.returncode == 0, done.stderr
    assert "rank 0/2: all_reduce sum=3 expected=3 ok" in done.stdout
    assert "rank 1/2: all_reduce sum=3 expected=3 ok" in done.stdout
    assert (
        f"backend=c10d (slurm) endpoint=localhost:{port} (slurm SLURM_JOB_NODELIST) "
        "run_id=777 nodes=1:1"
    ) in done.stderr


def test_run_main_takes_scheduler_too_and_restores_the_container() -> None:
    from rendezvous_di import RendezvousContainer
    from rendezvous_di.run import prepare

    container = RendezvousContainer()
    container.environ.override(SLURM)
    prepared = prepare(["--scheduler", "none", "train.py"], container=container)
    assert prepared is not None
    assert prepared.settings.scheduler == "none"
    assert prepared.settings.endpoint == "localhost:0"
    prepared.restore()
    assert container.settings().endpoint == "node07:29400"
