"""Bad input on the command line: exit code 2, a first stderr line `error: ...`, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.procs import run_cli

BAD_INPUTS = [
    (
        ["--rdzv-backend", "c10"],
        [
            "unknown rendezvous backend 'c10'",
            "c10d, etcd, etcd-v2, etcd-v3, static",
            "did you mean 'c10d'",
        ],
    ),
    (["--rdzv-endpoint", "host:http"], ["endpoint", "'http'"]),
    (["--rdzv-endpoint", "host:123456"], ["endpoint", "'123456'"]),
    (["--nnodes", "a:b"], ["nnodes", "'a:b'"]),
    (["--nnodes", "4:2"], ["nnodes", "'4:2': the maximum, 2, is below the minimum, 4"]),
    # A URL or a host:port where a host goes is called what it is, not an IPv6 address.
    # It says where the scheme goes instead: an option of the backend, or nowhere.
    (
        ["--rdzv-endpoint", "http://host:2379"],
        ["starts with the scheme http://", "'host:2379'", "c10d's store", "there is no scheme"],
    ),
    (
        ["--rdzv-backend", "etcd-v3", "--rdzv-endpoint", "https://etcd:2379/"],
        ["starts with the scheme https://", "'etcd:2379'", "--rdzv-conf protocol=https"],
    ),
    (
        ["--rdzv-backend", "etcd-v3", "--rdzv-endpoint", "a:2379,grpc://b:2379"],
        ["'grpc://b:2379' starts with the scheme grpc://", "protocol (http|https)"],
    ),
    (
        ["--rdzv-backend", "etcd-v2", "--rdzv-endpoint", "http://etcd"],
        ["scheme http://", "write 'etcd'", "--rdzv-conf protocol=http"],
    ),
    (
        ["--rdzv-backend", "static", "--rdzv-endpoint", "tcp://h:29500", "--nnodes", "2"],
        ["scheme tcp://", "static's store", "no scheme"],
    ),
    (["--rdzv-endpoint", "host:1:2"], ["more than one ':'", "no IPv6 address"]),
    (
        ["--nnodes", "2", "--master-addr", "host:80"],
        ["master_addr", "'host:80' is a host with a port", "--master-addr host --master-port 80"],
    ),
    (
        ["--nnodes", "2", "--master-addr", "http://node0:29500/"],
        ["scheme http://", "write --master-addr node0 --master-port 29500"],
    ),
    (
        ["--nnodes", "2", "--master-addr", "[::1]:80"],
        ["is a host with a port", "--master-addr ::1 --master-port 80"],
    ),
    # Range errors name the value, not only the range.
    (["--nnodes", "0"], ["nnodes (from flag --nnodes): '0': must be >= 1"]),
    (["--nnodes", "0:2"], ["nnodes", "'0:2': its minimum, 0, must be >= 1"]),
    (["--nnodes", "1:0"], ["nnodes", "'1:0': its maximum, 0, must be >= 1"]),
    (["--master-port", "70000"], ["master_port", "70000 must be between 0 and 65535"]),
    (["--nnodes", "2", "--node-rank", "2"], ["node_rank", "rank 2 is not below", "0 to 1"]),
    (["--nnodes", "3", "--node-rank", "9"], ["node_rank", "rank 9 is not below", "0 to 2"]),
    (["--node-rank", "-1"], ["node_rank", "-1 must be >= 0"]),
    (["--rdzv-conf", "join_timeout=-5"], ["conf.join_timeout", "got -5"]),
    (["--rdzv-conf", "read_timeout=0"], ["conf.read_timeout", "got 0"]),
    (["--rdzv-conf", "join_timeout"], ["conf", "<key>=<value>"]),
    (["--rdzv-conf", "join_timeout=soon"], ["conf.join_timeout", "'soon' is not an integer"]),
    (["--rdzv-conf", "heartbeat=3"], ["did you mean 'heartbeats' or 'heartbeat_timeout'"]),
    (["--config", "/nonexistent/rdzv.yaml"], ["/nonexistent/rdzv.yaml", "no such file"]),
    (["--bogus-flag"], ["unrecognized arguments: --bogus-flag"]),
    # A tired person's paste or a broken generator: megabytes never reach the terminal.
    (["--rdzv-backend", "b" * 5000], ["... (5000 characters)'", "valid choices: c10d"]),
    (["--rdzv-conf", f"join_timeout={'x' * 5000}"], ["(5000 characters)' is not an integer"]),
    (["--rdzv-endpoint", "h" * 5000 + ":1"], ["host is 5000 characters long", "at most 253"]),
    (["--nnodes", "1" * 5000], ["nnodes", "at most 9 digits"]),
]


def assert_clean_error(done: object, fragments: list[str]) -> None:
    stderr: str = done.stderr  # type: ignore[attr-defined]
    assert done.returncode == 2, stderr  # type: ignore[attr-defined]
    assert stderr.splitlines()[0].startswith("error: "), stderr
    assert [line for line in stderr.splitlines() if line.startswith("error:")] == [
        stderr.splitlines()[0]
    ]
    assert len(stderr) < 2000, stderr[:300]  # bounded, whatever the input's size
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in stderr


@pytest.mark.parametrize(("flags", "fragments"), BAD_INPUTS)
def test_config_command_rejects_bad_input(flags: list[str], fragments: list[str]) -> None:
    assert_clean_error(run_cli(["config", *flags]), fragments)


@pytest.mark.parametrize(("flags", "fragments"), BAD_INPUTS)
def test_run_command_rejects_bad_input_before_starting_anything(
    flags: list[str], fragments: list[str]
) -> None:
    assert_clean_error(run_cli(["run", *flags, "--nproc-per-node", "2", "x.py"]), fragments)


# torchrun's own numbers, `run` only: each names the value and its range.
LAUNCHER_RANGES = [
    (["--max-restarts", "-1"], ["max_restarts", "'-1'", ">= 0"]),
    (["--nproc-per-node", "0"], ["nproc_per_node", "'0'", "from 1"]),
    (["--nproc-per-node", "-3"], ["nproc_per_node", "'-3'", "from 1"]),
    (["--monitor-interval", "-1"], ["monitor_interval", "'-1'", "> 0"]),
    (["--monitor-interval", "nan"], ["monitor_interval", "'nan'"]),
]


@pytest.mark.parametrize(("flags", "fragments"), LAUNCHER_RANGES)
def test_launcher_numbers_out_of_range_name_the_value(
    flags: list[str], fragments: list[str]
) -> None:
    assert_clean_error(run_cli(["run", "--dry-run", *flags, "x.py"]), fragments)


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "broken.yaml"
    config.write_text("backend: c10d\nconf: {join_timeout: 1\n")
    done = run_cli(["config", "--config", str(config)])
    assert_clean_error(done, [f"{config}:3", "invalid YAML"])


def test_wrong_type_in_a_file_names_the_field_and_the_file(tmp_path: Path) -> None:
    config = tmp_path / "typed.yaml"
    config.write_text("min_nodes: [1]\n")
    done = run_cli(["config", "--config", str(config)])
    assert_clean_error(done, ["min_nodes", f"file {config}", "integer"])


def test_an_integer_past_pythons_digit_limit_in_a_file_is_invalid_yaml(tmp_path: Path) -> None:
    config = tmp_path / "huge.yaml"
    config.write_text("conf:\n  join_timeout: " + "9" * 5000 + "\n")
    done = run_cli(["config", "--config", str(config)])
    assert_clean_error(done, [str(config), "invalid YAML", "4300 digits"])


def test_a_node_count_past_a_billion_in_a_file_names_the_field(tmp_path: Path) -> None:
    config = tmp_path / "many.yaml"
    config.write_text("min_nodes: 10000000000\n")
    done = run_cli(["config", "--config", str(config)])
    assert_clean_error(done, ["min_nodes", f"file {config}", "more than 9 digits"])


@pytest.mark.parametrize("timeout", ["1e999", "nan", "9" * 400])
def test_a_probe_timeout_that_no_socket_can_take_is_refused(timeout: str) -> None:
    assert_clean_error(run_cli(["check", "--timeout", timeout]), ["--timeout"])


def test_environment_errors_name_the_variable() -> None:
    done = run_cli(["config"], env={"PET_NNODES": "two"})
    assert_clean_error(done, ["nnodes (from env PET_NNODES)", "'two'"])


def test_debug_shows_the_traceback() -> None:
    done = run_cli(["--debug", "config", "--rdzv-backend", "nope"])
    assert done.returncode != 0
    assert "Traceback" in done.stderr
    assert "UnknownBackendError" in done.stderr


def test_missing_command_is_a_usage_error() -> None:
    assert_clean_error(run_cli([]), ["required: COMMAND"])


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ('raise RuntimeError("boom\\nsecond line")\n', "raised RuntimeError: boom second line"),
        ("import sys\nsys.exit(3)\n", "raised SystemExit: 3"),
        ("x = (\n", "raised SyntaxError"),
        ('def Container():\n    raise ValueError("no cluster")\n', "raised ValueError: no cluster"),
    ],
)
def test_a_broken_platform_module_is_a_usage_error_naming_container(
    tmp_path: Path, source: str, fragment: str
) -> None:
    module = tmp_path / "platform_module.py"
    module.write_text(source)
    done = run_cli(["backends", "--container", f"{module}:Container"])
    assert_clean_error(done, ["--container", fragment])


@pytest.mark.parametrize(
    ("value", "fragments"),
    [
        ("2:1", ["nnodes (from env PET_NNODES): '2:1': the maximum, 1, is below the minimum, 2"]),
        ("0", ["nnodes (from env PET_NNODES): '0': must be >= 1"]),
        ("3:0", ["nnodes (from env PET_NNODES): '3:0': its maximum, 0, must be >= 1"]),
    ],
)
def test_a_node_range_from_the_environment_names_the_value_as_written(
    value: str, fragments: list[str]
) -> None:
    assert_clean_error(run_cli(["config"], env={"PET_NNODES": value}), fragments)


def test_a_node_rank_of_too_many_digits_names_the_value() -> None:
    done = run_cli(["config", "--node-rank", "12345678901"])
    assert_clean_error(done, ["node_rank", "'12345678901' has more than 9 digits"])


def test_a_node_rank_from_the_environment_past_the_count_names_both() -> None:
    done = run_cli(["config"], env={"PET_NNODES": "2", "PET_NODE_RANK": "5"})
    assert_clean_error(
        done, ["node_rank (from env PET_NODE_RANK): rank 5 is not below the node count, 2"]
    )
