"""A signal mid-command: one `error:` line, the shell's exit code, nothing left running."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.procs import REPO, clean_environ, communicate_all

pytestmark = pytest.mark.slow

WORKER = """\
import os, sys, time
open(os.path.join(sys.argv[1], str(os.getpid())), "w").close()
time.sleep(120)
"""


def start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rendezvous_di", *args],
        env=clean_environ({"OMP_NUM_THREADS": "1"}),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_for(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def test_sigterm_mid_run_stops_the_workers_and_exits_143(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    pids = tmp_path / "pids"
    pids.mkdir()
    agent = start(["run", "--standalone", "--nproc-per-node", "2", str(script), str(pids)])
    try:
        wait_for(lambda: len(list(pids.iterdir())) == 2, timeout=90)
        agent.send_signal(signal.SIGTERM)
    finally:
        ((_, stderr),) = communicate_all([agent], timeout=60)
    assert agent.returncode == 128 + signal.SIGTERM, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error")]
    assert errors == ["error: stopped by SIGTERM; the workers were stopped too"]
    assert "Traceback" not in stderr
    workers = [int(p.name) for p in pids.iterdir()]
    wait_for(lambda: not any(running(pid) for pid in workers), timeout=30)


def test_ctrl_c_while_a_probe_waits_is_one_line_and_exit_130() -> None:
    with socket.socket() as silent:  # accepts connections, never answers: a hung server
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        endpoint = f"127.0.0.1:{silent.getsockname()[1]}"
        # --timeout far above any start-up: check's deadline starts before validation, and on
        # a loaded machine the default 10 s could expire right after the connection arrived.
        probe = start(
            ["check", "--rdzv-backend", "etcd-v2", "--rdzv-endpoint", endpoint, "--timeout", "600"]
        )
        try:
            # Signal once the probe is waiting for an answer: its connection has arrived. A fixed
            # sleep raced the imports on a loaded machine (a SIGINT during interpreter start-up
            # is Python's traceback, before any of our code runs).
            silent.settimeout(120)
            waiting, _ = silent.accept()
            assert probe.poll() is None
            probe.send_signal(signal.SIGINT)
        finally:
            ((_, stderr),) = communicate_all([probe], timeout=60)
    waiting.close()
    assert probe.returncode == 130
    assert stderr == "error: interrupted\n"
