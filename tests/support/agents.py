"""Elastic agents on test hosts: ``rendezvous-di run`` with one multi-host worker each."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence

import pytest

from tests.support.netns import IFNAME, Host, HostProcess
from tests.support.procs import REPO, clean_environ

WORKER = REPO / "tests" / "multihost" / "worker.py"


def start_agent(
    host: Host,
    *,
    rdzv: Sequence[str],
    worker_args: Sequence[str],
    max_restarts: int = 0,
    env: Mapping[str, str] | None = None,
) -> HostProcess:
    """``rendezvous-di run --nnodes 2:3`` on ``host``, one worker, gloo over the host's link;
    ``env`` adds variables for the agent and its worker."""
    args = [
        sys.executable,
        "-m",
        "rendezvous_di",
        "run",
        "--nnodes",
        "2:3",
        "--nproc-per-node",
        "1",
        "--max-restarts",
        str(max_restarts),
        "--monitor-interval",
        "0.5",
        "--local-addr",
        host.address,
        *rdzv,
        str(WORKER),
        *worker_args,
    ]
    environ = clean_environ(
        {
            "GLOO_SOCKET_IFNAME": IFNAME,
            "TEST_HOST": str(host.index),
            "PYTHONPATH": str(REPO),
            # AGENT_LOGLEVEL=DEBUG: torch's rendezvous steps in the hosts' logs (a failed trial).
            "LOGLEVEL": os.environ.get("AGENT_LOGLEVEL", "INFO"),
            **(env or {}),
        }
    )
    return host.start(args, log_name="agent", env=environ)


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, agents: Sequence[HostProcess]
) -> None:
    """Poll ``condition``; on timeout fail with every agent's log tail."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- host {a.host.index}:\n{_tail(a.output())}" for a in agents)
            pytest.fail(f"timed out after {timeout}s waiting for {what}\n{logs}")
        time.sleep(0.2)


def finish(agent: HostProcess, timeout: float, agents: Sequence[HostProcess]) -> int:
    """The agent's exit code; on timeout fail with every agent's log tail."""
    wait_until(
        lambda: agent.process.poll() is not None,
        timeout,
        f"host {agent.host.index}'s agent to exit",
        agents,
    )
    return agent.process.returncode


def _tail(log: str, lines: int = 60) -> str:
    """The end of a log without torch's verbose INFO lines, which drown what matters."""
    kept = [line for line in log.splitlines() if not line.startswith("I1")]
    return "\n".join(kept[-lines:])
