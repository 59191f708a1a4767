"""2-agent elastic jobs on etcd-v3: through ``rendezvous-di run`` and through plain ``torchrun``.

Plain torchrun finds etcd-v3 through the ``torchrun.handlers`` entry point of
the installed rendezvous-di, with no other help. Each worker does a gloo
all_reduce and reports what it saw; afterwards etcd holds no key of the run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.etcd_server import EtcdServer, all_keys
from tests.support.jobs import WORKER, expected_sum, read_reports
from tests.support.procs import REPO, clean_environ, communicate_all, run_cli

pytestmark = pytest.mark.slow

LAUNCHERS = {
    "rendezvous-di run": [sys.executable, "-m", "rendezvous_di", "run"],
    "torchrun": [sys.executable, "-m", "torch.distributed.run"],
}


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_two_agents_run_a_job(etcd_v3_server: EtcdServer, launcher: str, tmp_path: Path) -> None:
    run_id = f"job-{tmp_path.name}"[-60:]
    command = [
        *LAUNCHERS[launcher],
        "--rdzv-backend",
        "etcd-v3",
        "--rdzv-endpoint",
        etcd_v3_server.endpoint,
        "--rdzv-id",
        run_id,
        "--rdzv-conf",
        "last_call_timeout=1,keep_alive_interval=1,join_timeout=120",
        "--nnodes",
        "2",
        "--nproc-per-node",
        "1",
        "--max-restarts",
        "0",
        str(WORKER),
        str(tmp_path),
    ]
    agents = [
        subprocess.Popen(
            command,
            env=clean_environ(),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = communicate_all(agents, timeout=300)
    for agent, (_, err) in zip(agents, outputs, strict=True):
        assert agent.returncode == 0, err[-4000:]
    reports = read_reports(tmp_path)
    assert [r["rank"] for r in reports] == [0, 1]
    assert {r["sum"] for r in reports} == {expected_sum(2)}
    assert {r["run_id"] for r in reports} == {run_id}
    assert all_keys(etcd_v3_server) == []


def test_check_probes_version_v3_api_and_compare_and_swap(etcd_v3_server: EtcdServer) -> None:
    done = run_cli(
        ["check", "--rdzv-backend", "etcd-v3", "--rdzv-endpoint", etcd_v3_server.endpoint],
        env=clean_environ(),
    )
    assert done.returncode == 0, done.stderr
    with urllib.request.urlopen(f"{etcd_v3_server.url}/version", timeout=10) as answer:
        version = json.loads(answer.read())["etcdserver"]
    assert (
        f"ready: etcd {version} at {etcd_v3_server.url} answers; v3 API, compare-and-swap work"
    ) in done.stdout
    assert all_keys(etcd_v3_server) == []  # the scratch key is gone


@pytest.mark.parametrize("backend", ["etcd-v2", "etcd"])
def test_v2_backends_on_a_server_without_v2_name_etcd_v3_in_one_line(
    etcd_v3_server: EtcdServer, backend: str, tmp_path: Path
) -> None:
    where = ["--rdzv-backend", backend, "--rdzv-endpoint", etcd_v3_server.endpoint]
    checked = run_cli(["check", *where], env=clean_environ())
    ran = run_cli(
        ["run", *where, "--nnodes", "1", "--nproc-per-node", "1", str(WORKER), str(tmp_path)],
        env=clean_environ(),
    )
    for done in (checked, ran):
        assert done.returncode == 1, done.stderr
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, done.stderr
        assert "Traceback" not in done.stderr
        (line,) = errors
        assert line == done.stderr.strip().splitlines()[-1]
        assert line.startswith(f"error: {backend}: etcd 3.")
        assert "its v2 API is disabled" in line
        assert "use --rdzv-backend etcd-v3" in line
    assert len(checked.stderr.strip().splitlines()) == 1  # check: nothing but that line
    assert read_reports(tmp_path) == []  # no worker started


def test_a_dead_etcd_is_one_error_line_with_its_cause_once() -> None:
    """Exit 1 and one ``error:`` line: the backend, every endpoint and its cause, once each."""
    from tests.support.procs import free_port

    endpoints = f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    result = run_cli(
        [
            "run",
            "--rdzv-backend",
            "etcd-v3",
            "--rdzv-endpoint",
            endpoints,
            "--nnodes",
            "1",
            "--rdzv-conf",
            "read_timeout=5",
            "--",
            sys.executable,
            "-c",
            "pass",
        ],
        env=clean_environ(),
        timeout=180,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-3000:]
    line = errors[0]
    assert "Traceback" not in result.stderr
    assert "backend 'etcd-v3'" in line
    assert endpoints in line
    for endpoint in endpoints.split(","):
        assert line.count(f"{endpoint}: Connection refused") == 1, line
    assert "root cause" not in line
