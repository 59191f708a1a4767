"""`rendezvous-di run`: real 2-worker elastic jobs, the rendezvous taken from the container."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.procs import REPO, free_port, run_cli

pytestmark = pytest.mark.slow

WORKER = str(REPO / "examples" / "allreduce.py")


def assert_two_workers_reduced(
    done: object, backend: str = "c10d", *, verbose: bool = False
) -> None:
    stdout, stderr = done.stdout, done.stderr  # type: ignore[attr-defined]
    assert done.returncode == 0, stderr  # type: ignore[attr-defined]
    assert "rank 0/2: all_reduce sum=3 expected=3 ok" in stdout
    assert "rank 1/2: all_reduce sum=3 expected=3 ok" in stdout
    # torch's agent obtained its handler through the bridge, from the container's Selector;
    # the run says so with --verbose only.
    line = f"for {backend!r} from the container's backends.providers[{backend!r}]"
    assert (line in stderr) is verbose


def test_run_driven_by_torchrun_flags() -> None:
    done = run_cli(
        [
            "run",
            "--rdzv-backend=c10d",
            f"--rdzv-endpoint=127.0.0.1:{free_port()}",
            "--rdzv-id=flags",
            "--rdzv-conf=join_timeout=60,last_call_timeout=1",
            "--nnodes=1",
            "--nproc-per-node=2",
            "--verbose",
            WORKER,
        ]
    )
    assert_two_workers_reduced(done, verbose=True)
    assert "backend=c10d (flag --rdzv-backend)" in done.stderr
    assert "run_id=flags" in done.stderr


def test_run_driven_by_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "job.yaml"
    config.write_text(
        f"backend: c10d\nendpoint: 127.0.0.1:{free_port()}\nrun_id: from-yaml\nnnodes: 1:1\n"
        "conf:\n  join_timeout: 60\n"
    )
    done = run_cli(["run", "--config", str(config), "--nproc-per-node", "2", WORKER])
    assert_two_workers_reduced(done)
    assert f"backend=c10d (file {config})" in done.stderr
    assert "run_id=from-yaml" in done.stderr


def test_run_driven_by_pet_variables_as_kubeflow_sets_them() -> None:
    env = {
        "PET_RDZV_BACKEND": "c10d",
        "PET_RDZV_ENDPOINT": f"127.0.0.1:{free_port()}",
        "PET_RDZV_ID": "from-env",
        "PET_NNODES": "1:1",
        "PET_NPROC_PER_NODE": "2",  # a torchrun flag we pass through untouched
    }
    done = run_cli(["run", WORKER], env=env)
    assert_two_workers_reduced(done)
    assert "backend=c10d (env PET_RDZV_BACKEND)" in done.stderr
    assert "run_id=from-env" in done.stderr


def test_flags_win_over_the_environment_and_the_file(tmp_path: Path) -> None:
    config = tmp_path / "job.yaml"
    config.write_text("backend: etcd\nrun_id: from-file\n")
    env = {"PET_RDZV_BACKEND": "etcd-v2", "PET_RDZV_ID": "from-env"}
    done = run_cli(
        ["run", "--config", str(config), "--standalone", "--nproc-per-node", "2", WORKER], env=env
    )
    assert_two_workers_reduced(done)
    assert "backend=c10d (flag --standalone)" in done.stderr


def test_static_backend_meets_at_master_addr_and_port() -> None:
    port = free_port()
    done = run_cli(
        [
            "run",
            "--rdzv-backend",
            "static",
            "--master-addr",
            "127.0.0.1",
            "--master-port",
            str(port),
            "--nproc-per-node",
            "2",
            "--verbose",
            WORKER,
        ]
    )
    assert_two_workers_reduced(done, backend="static", verbose=True)
    assert f"endpoint=127.0.0.1:{port}" in done.stderr


def test_failing_workers_exit_1_with_torchs_failure_summary(tmp_path: Path) -> None:
    script = tmp_path / "fail.py"
    script.write_text("raise SystemExit(3)\n")
    done = run_cli(["run", "--standalone", "--nproc-per-node", "1", str(script)])
    assert done.returncode == 1
    assert "error: workers failed" in done.stderr
    assert "Traceback" not in done.stderr.split("error: workers failed")[1].splitlines()[0]


REPORT_SHARING = """
import os, sys
with open(sys.argv[1], "a") as out:
    out.write(os.environ.get("TORCH_DISABLE_SHARE_RDZV_TCP_STORE", "unset") + "\\n")
"""


@pytest.mark.parametrize(
    ("nnodes", "user", "seen"),
    [("1:2", None, "1"), ("1:2", "0", "0"), ("1", None, "unset")],
)
def test_an_elastic_job_does_not_share_the_rendezvous_store_unless_asked(
    tmp_path: Path, nnodes: str, user: str | None, seen: str
) -> None:
    """torch keeps a dead rank-0 host's store address after a re-rendezvous when it shares
    the rendezvous TCPStore; for a job whose rank 0 can move, run turns sharing off (the
    workers see the variable), says so with --verbose, and leaves a user's choice alone."""
    from tests.support.procs import clean_environ

    script = tmp_path / "report.py"
    script.write_text(REPORT_SHARING)
    report = tmp_path / "seen.txt"
    extra = {} if user is None else {"TORCH_DISABLE_SHARE_RDZV_TCP_STORE": user}
    done = run_cli(
        [
            "run",
            "--rdzv-backend=c10d",
            f"--rdzv-endpoint=127.0.0.1:{free_port()}",
            "--rdzv-conf=join_timeout=60,last_call_timeout=1",
            f"--nnodes={nnodes}",
            "--nproc-per-node=1",
            "--verbose",
            str(script),
            str(report),
        ],
        env=clean_environ(extra),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert report.read_text().split() == [seen]
    assert ("TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 (nodes 1:2" in done.stderr) is (seen == "1")
