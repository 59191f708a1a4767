"""A signal mid-command: one `error:` line, the shell's exit code, nothing left running.

``rendezvous-di run`` is stopped by SIGTERM and by SIGINT in both of its
phases, while the agent waits at the rendezvous (two nodes expected, one
started) and while it runs workers: the same line and exit code each time.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.procs import REPO, clean_environ, communicate_all, free_port

pytestmark = pytest.mark.slow

WORKER = """\
import os, sys, time
open(os.path.join(sys.argv[1], str(os.getpid())), "w").close()
time.sleep(120)
"""


def interruptible() -> None:
    """In the child: SIGINT as a terminal's foreground job has it.

    A suite started in the background by a shell without job control (``make
    compat ... &``) ignores SIGINT, and so would every child: Python keeps an
    ignored SIGINT ignored, and Ctrl-C would never reach the command under test.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(args: list[str], *, faulthandler: bool = False) -> subprocess.Popen[str]:
    extra = {"OMP_NUM_THREADS": "1"} | ({"PYTHONFAULTHANDLER": "1"} if faulthandler else {})
    return subprocess.Popen(
        [sys.executable, "-m", "rendezvous_di", *args],
        env=clean_environ(extra),
        preexec_fn=interruptible,  # pytest starts it from its one thread
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stacks_if_stuck(process: subprocess.Popen[str], timeout: float) -> str:
    """Its stderr once it exits; if it does not within ``timeout``, fail with every thread's stack.

    SIGABRT makes a process started with ``PYTHONFAULTHANDLER=1`` print each
    thread's Python stack: a failure that only a loaded machine shows says where it waits.
    """
    try:
        return process.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        ((_, stderr),) = communicate_all([process], timeout=30)
        pytest.fail(f"still running {timeout:g}s after the signal; its stacks:\n{stderr}")


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def children(pid: int) -> set[int]:
    """Every process whose parent is ``pid`` now."""
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


class StderrLines:
    """The stderr of a process, read as it comes (a thread), kept in full."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stderr is not None
        self._stream = process.stderr
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:
            self.lines.append(line)

    def seen(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def text(self) -> str:
        self._thread.join(timeout=30)
        return "".join(self.lines)


def stop_and_collect(agent: subprocess.Popen[str], stderr: StderrLines, sig: int) -> str:
    agent.send_signal(sig)
    try:
        agent.wait(timeout=90)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
    if agent.stdout is not None:
        agent.stdout.close()
    return stderr.text()


def assert_stopped_by(agent: subprocess.Popen[str], text: str, sig: signal.Signals) -> None:
    assert agent.returncode == 128 + sig, text
    errors = [line for line in text.splitlines() if line.startswith("error")]
    assert errors == [f"error: stopped by {sig.name}; no worker is left running"], text
    assert "rendezvous failed" not in text


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_workers_run_stops_them_with_one_line(
    sig: signal.Signals, tmp_path: Path
) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    pids = tmp_path / "pids"
    pids.mkdir()
    agent = start(["run", "--standalone", "--nproc-per-node", "2", str(script), str(pids)])
    stderr = StderrLines(agent)
    try:
        wait_for(lambda: len(list(pids.iterdir())) == 2, timeout=90)
    except BaseException:
        agent.kill()
        raise
    text = stop_and_collect(agent, stderr, sig)
    assert_stopped_by(agent, text, sig)
    if sig == signal.SIGTERM:
        assert "Traceback" not in text  # SIGINT: each worker's own KeyboardInterrupt shows
    workers = [int(p.name) for p in pids.iterdir()]
    wait_for(lambda: not any(running(pid) for pid in workers), timeout=30)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_waiting_at_the_rendezvous_gives_the_same_line(
    sig: signal.Signals, tmp_path: Path
) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    pids = tmp_path / "pids"
    pids.mkdir()
    agent = start(
        [
            *("run", "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{free_port()}"),
            *("--rdzv-id", "waits", "--nnodes", "2", "--nproc-per-node", "1"),
            *(str(script), str(pids)),
        ]
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
    assert list(pids.iterdir()) == []  # no worker ever started
    wait_for(lambda: not any(running(pid) for pid in left), timeout=30)


def test_ctrl_c_while_a_probe_waits_is_one_line_and_exit_130() -> None:
    with socket.socket() as silent:  # accepts connections, never answers: a hung server
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        endpoint = f"127.0.0.1:{silent.getsockname()[1]}"
        # --timeout far above any start-up: check's deadline starts before validation, and on
        # a loaded machine the default 10 s could expire right after the connection arrived.
        probe = start(
            ["check", "--rdzv-backend", "etcd-v2", "--rdzv-endpoint", endpoint, "--timeout", "600"],
            faulthandler=True,
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
            stderr = stacks_if_stuck(probe, timeout=60)
    waiting.close()
    assert probe.returncode == 130
    assert stderr == "error: interrupted\n"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("rank", [0, 1], ids=["host", "not-host"])
def test_a_signal_at_a_static_rendezvous_ends_it_at_once(
    sig: signal.Signals, rank: int, tmp_path: Path
) -> None:
    # The README's multi-node command, one node of two started. torch's TCPStore waits in
    # C++ (the host for the other node, the other node for the host), where no Python
    # handler runs: the signal used to wait out the static timeout (10 minutes).
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    pids = tmp_path / "pids"
    pids.mkdir()
    agent = start(
        [
            *("run", "--nnodes", "2", "--node-rank", str(rank), "--master-port", str(free_port())),
            *("--nproc-per-node", "1", str(script), str(pids)),
        ],
        faulthandler=True,
    )
    stderr = StderrLines(agent)
    try:
        wait_for(lambda: stderr.seen("waiting at the rendezvous"), timeout=90)
        time.sleep(0.5)  # well inside torch's wait, past our own Python code
        left = children(agent.pid)
    except BaseException:
        agent.kill()
        raise
    agent.send_signal(sig)
    try:
        # Far below the 600 s static timeout (torch's launcher makes it 900 s): only the
        # signal can end the agent within this bound.
        agent.wait(timeout=60)
    except subprocess.TimeoutExpired:
        agent.send_signal(signal.SIGABRT)
        agent.wait(timeout=30)
        pytest.fail(f"still waiting 60 s after {sig.name}:\n{stderr.text()}")
    assert agent.stdout is not None
    agent.stdout.close()
    text = stderr.text()
    assert_stopped_by(agent, text, sig)
    assert "Traceback" not in text
    assert "frame #" not in text  # torch's C++ stack frames stay out of the agent's stderr
    assert list(pids.iterdir()) == []
    wait_for(lambda: not any(running(pid) for pid in left), timeout=30)


def test_sigterm_while_check_probes_is_one_line_and_the_shells_code() -> None:
    # (Ctrl-C: test_ctrl_c_while_a_probe_waits_is_one_line_and_exit_130.) SIGTERM used to end
    # `check` without a word.
    sig = signal.SIGTERM
    with socket.socket() as silent:  # accepts connections, never answers: a hung server
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        endpoint = f"127.0.0.1:{silent.getsockname()[1]}"
        probe = start(
            ["check", "--rdzv-backend", "etcd-v2", "--rdzv-endpoint", endpoint, "--timeout", "600"],
            faulthandler=True,
        )
        try:
            silent.settimeout(120)
            waiting, _ = silent.accept()
            assert probe.poll() is None
            probe.send_signal(sig)
        finally:
            stderr = stacks_if_stuck(probe, timeout=60)
    waiting.close()
    assert probe.returncode == 143
    assert stderr == "error: stopped by SIGTERM\n"
