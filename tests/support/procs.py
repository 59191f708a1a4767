"""Real processes for tests: the CLI in a subprocess, free ports, a CI-aware skip."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCHEDULER_PREFIXES = ("PET_", "RENDEZVOUS_DI_", "SLURM_")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def free_port() -> int:
    """A TCP port that was free on loopback a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require(condition: bool, reason: str) -> None:
    """Skip when ``condition`` is false; in CI fail instead, since a skip there hides a gap."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def clean_environ(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without PET_*, plugin switches and a scheduler's variables
    (a suite run inside a Slurm job must not see it), plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(SCHEDULER_PREFIXES) and k != "KUBERNETES_SERVICE_HOST"
    }
    env.update(extra or {})
    return env


def run_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as a user would: this environment less PET_* (plus ``env``), in the repo,
    output captured; the caller asserts on the exit code."""
    return subprocess.run(
        list(argv),
        env=clean_environ(env),
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_cli(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m rendezvous_di ARGS`` and capture its output."""
    return run_process(
        [sys.executable, "-m", "rendezvous_di", *args], env=env, timeout=timeout, cwd=cwd
    )


def communicate_all(
    processes: Sequence[subprocess.Popen[str]], timeout: float = 120
) -> list[tuple[str, str]]:
    """Each process's ``(stdout, stderr)`` once it exits; on a timeout or error, every one
    still running is killed, so a failing test leaves no process behind."""
    try:
        return [process.communicate(timeout=timeout) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
