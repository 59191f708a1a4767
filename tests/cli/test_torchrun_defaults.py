"""torchrun's multi-node defaults: no backend, several nodes meet at --master-addr:--master-port.

The classic command (``--nnodes 2 --node-rank R --master-addr A --master-port P``)
and Kubeflow Trainer v2's PET_* variables run real two-agent jobs here; config
and check take the same flags and show the endpoint with its source.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from tests.cli.test_errors import assert_clean_error
from tests.support.jobs import WORKER, expected_sum, read_reports
from tests.support.procs import REPO, clean_environ, communicate_all, free_port, run_cli


def start_agent(
    flags: Sequence[str], out: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    """One ``rendezvous-di run`` agent with one report worker (gloo all_reduce)."""
    return subprocess.Popen(
        [sys.executable, "-m", "rendezvous_di", "run", *flags, str(WORKER), str(out)],
        env=clean_environ({"OMP_NUM_THREADS": "1", **(env or {})}),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_one_world_of_two(out: Path, outputs: Sequence[tuple[str, str]], port: int) -> None:
    reports = read_reports(out)
    assert [r["rank"] for r in reports] == [0, 1], outputs
    assert {r["world_size"] for r in reports} == {2}
    assert {r["sum"] for r in reports} == {expected_sum(2)}
    assert [r["group_rank"] for r in reports] == [0, 1]  # --node-rank became static's rank
    for _, stderr in outputs:
        assert "backend=static (torchrun's default for several nodes" in stderr
        assert f"endpoint=127.0.0.1:{port}" in stderr


@pytest.mark.slow
def test_the_classic_multi_node_command_runs_one_job_on_two_agents(tmp_path: Path) -> None:
    port = free_port()
    agents = [
        start_agent(
            [
                "--nnodes",
                "2",
                "--node-rank",
                str(rank),
                "--master-addr",
                "127.0.0.1",
                "--master-port",
                str(port),
                "--nproc-per-node",
                "1",
            ],
            tmp_path,
        )
        for rank in (0, 1)
    ]
    outputs = communicate_all(agents, timeout=240)
    assert [a.returncode for a in agents] == [0, 0], outputs
    assert_one_world_of_two(tmp_path, outputs, port)


@pytest.mark.slow
def test_kubeflow_trainer_v2_variables_alone_run_one_job_on_two_agents(tmp_path: Path) -> None:
    port = free_port()
    agents = [
        start_agent(
            [],
            tmp_path,
            {
                "PET_NNODES": "2",
                "PET_NPROC_PER_NODE": "1",
                "PET_NODE_RANK": str(rank),
                "PET_MASTER_ADDR": "127.0.0.1",
                "PET_MASTER_PORT": str(port),
            },
        )
        for rank in (0, 1)
    ]
    outputs = communicate_all(agents, timeout=240)
    assert [a.returncode for a in agents] == [0, 0], outputs
    assert_one_world_of_two(tmp_path, outputs, port)
    assert all(
        "endpoint=127.0.0.1:" in err and "master_addr from env PET_MASTER_ADDR" in err
        for _, err in outputs
    )


def config_json(args: Sequence[str], env: Mapping[str, str] | None = None) -> dict[str, object]:
    done = run_cli(["config", "--json", *args], env=env)
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def test_config_takes_the_master_flags_and_names_the_endpoint_source() -> None:
    report = config_json(
        ["--nnodes", "2", "--node-rank", "1", "--master-addr", "10.1.2.3", "--master-port", "4242"]
    )
    values, sources = report["values"], report["sources"]
    assert isinstance(values, dict)
    assert isinstance(sources, dict)
    assert (values["backend"], values["endpoint"]) == ("static", "10.1.2.3:4242")
    assert values["conf"] == {"rank": 1}
    assert sources["backend"] == "torchrun's default for several nodes, flag --nnodes"
    assert sources["endpoint"] == (
        "master_addr from flag --master-addr, master_port from flag --master-port"
    )
    assert sources["conf.rank"] == "flag --node-rank"


def test_config_reads_the_pet_twins_and_torchruns_default_port() -> None:
    report = config_json(
        [], env={"PET_NNODES": "2", "PET_MASTER_ADDR": "head", "PET_NODE_RANK": "0"}
    )
    values, sources = report["values"], report["sources"]
    assert isinstance(values, dict)
    assert isinstance(sources, dict)
    assert values["endpoint"] == "head:29500"
    assert sources["endpoint"] == "master_addr from env PET_MASTER_ADDR, master_port from default"
    assert sources["conf.rank"] == "env PET_NODE_RANK"


def test_several_nodes_with_nothing_else_meet_at_torchruns_127_0_0_1_29500() -> None:
    report = config_json(["--nnodes", "1:3"])
    values = report["values"]
    assert isinstance(values, dict)
    assert (values["backend"], values["endpoint"], values["run_id"]) == (
        "static",
        "127.0.0.1:29500",
        "none",
    )


def test_one_node_keeps_the_embedded_store_and_a_master_port_means_static() -> None:
    assert config_json([])["values"]["endpoint"] == "localhost:0"  # type: ignore[index]
    # torchrun: --master-addr alone changes nothing on one node, --master-port selects static.
    alone = config_json(["--master-addr", "10.0.0.9"])["values"]
    assert (alone["backend"], alone["endpoint"]) == ("c10d", "localhost:0")  # type: ignore[index]
    with_port = config_json(["--master-port", "4321"])["values"]
    assert (with_port["backend"], with_port["endpoint"]) == (  # type: ignore[index]
        "static",
        "127.0.0.1:4321",
    )


@pytest.mark.parametrize("command", ["config", "check", "run"])
def test_several_nodes_never_default_to_a_port_0_endpoint(command: str) -> None:
    args = [command, "--rdzv-backend", "c10d", "--nnodes", "2"]
    done = run_cli([*args, "x.py"] if command == "run" else args)
    assert_clean_error(
        done, ["endpoint (from default)", "'localhost:0'", "--rdzv-endpoint HOST:PORT"]
    )


def test_the_same_from_a_config_file_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "c10d.yaml"
    config.write_text("backend: c10d\n")
    done = run_cli(["config", "--config", str(config)], env={"PET_NNODES": "2:4"})
    assert_clean_error(done, ["env PET_NNODES", f"set by file {config}"])


@pytest.mark.parametrize(
    ("flags", "fragments"),
    [
        (["--node-rank", "-1", "--nnodes", "2"], ["node_rank (from flag --node-rank)", ">= 0"]),
        (["--node-rank", "2", "--nnodes", "2"], ["node_rank (from flag --node-rank)", "below"]),
        (["--master-port", "70000"], ["master_port (from flag --master-port)", "65535"]),
        (["--master-port", "http"], ["master_port", "'http' is not an integer"]),
    ],
)
def test_config_refuses_bad_master_values(flags: list[str], fragments: list[str]) -> None:
    assert_clean_error(run_cli(["config", *flags]), fragments)


def test_check_takes_the_master_flags_and_probes_that_endpoint() -> None:
    port = free_port()
    done = run_cli(
        [
            "check",
            "--json",
            "--nnodes",
            "2",
            "--node-rank",
            "0",
            "--master-addr",
            "127.0.0.1",
            "--master-port",
            str(port),
        ]
    )
    report = json.loads(done.stdout)
    assert (report["backend"], report["endpoint"]) == ("static", f"127.0.0.1:{port}")
    assert report["ready"] is True, done.stderr  # rank 0 can host the store on that free port
