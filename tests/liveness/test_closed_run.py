"""An agent that arrives after its job closed: one line that says so, not a bare error.

torch's agent gets ``RendezvousClosedError`` and nothing more (pytorch #147064): a
restarted agent's operator cannot tell a closed job from a broken server. The run is
not reopened: a closed rendezvous stays closed, as torch keeps it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import torch.distributed as dist

from tests.support.procs import run_cli

pytestmark = pytest.mark.slow


def job(port: int, script: Path) -> list[str]:
    return [
        "run",
        "--rdzv-backend=c10d",
        f"--rdzv-endpoint=127.0.0.1:{port}",
        "--rdzv-id=closed-job",
        "--rdzv-conf=is_host=0,join_timeout=60,last_call_timeout=1",
        "--nnodes=1",
        "--nproc-per-node=1",
        str(script),
    ]


def test_an_agent_restarted_after_its_job_closed_is_told_so(tmp_path: Path) -> None:
    server = dist.TCPStore(  # type: ignore[attr-defined]
        "127.0.0.1", 0, is_master=True, wait_for_workers=False, timeout=timedelta(seconds=60)
    )
    script = tmp_path / "train.py"
    script.write_text("print('trained', flush=True)\n")
    first = run_cli(job(server.port, script))
    assert first.returncode == 0, first.stderr  # the job ran, and closed its rendezvous
    again = run_cli(job(server.port, script))
    assert again.returncode == 1
    errors = [line for line in again.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, again.stderr
    assert "'closed-job'" in errors[0]
    assert "is closed: its job ended" in errors[0]
    assert "new --rdzv-id" in errors[0]
    assert "trained" not in again.stdout  # not reopened: no worker ran
    assert "Traceback" not in again.stderr
