"""A signal while an etcd-v3 agent waits at the rendezvous: one line, the shell's code.

The same contract as tests/cli/test_signals.py, on our own backend with a real
etcd: the agent waits in torch's dynamic rendezvous (our HTTP client to etcd)
for a second node that never comes.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.cli.test_signals import (
    WORKER,
    StderrLines,
    assert_stopped_by,
    children,
    running,
    start,
    stop_and_collect,
    wait_for,
)
from tests.support.etcd_server import EtcdServer

pytestmark = pytest.mark.slow


def test_sigterm_while_waiting_on_etcd_v3_is_one_line(etcd_35: EtcdServer, tmp_path: Path) -> None:
    sig = signal.SIGTERM  # (SIGINT takes the same path: tests/cli/test_signals.py)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    pids = tmp_path / "pids"
    pids.mkdir()
    agent = start(
        [
            *("run", "--rdzv-backend", "etcd-v3", "--rdzv-endpoint", etcd_35.endpoint),
            *("--rdzv-id", f"signal-{sig.name}", "--nnodes", "2", "--nproc-per-node", "1"),
            *(str(script), str(pids)),
        ],
        faulthandler=True,
    )
    stderr = StderrLines(agent)
    try:
        wait_for(lambda: stderr.seen("waiting at the rendezvous"), timeout=90)
        left = children(agent.pid)
    except BaseException:
        agent.kill()
        raise
    text = stop_and_collect(agent, stderr, sig)
    assert_stopped_by(agent, text, sig)
    assert "Traceback" not in text
    assert list(pids.iterdir()) == []
    wait_for(lambda: not any(running(pid) for pid in left), timeout=30)
