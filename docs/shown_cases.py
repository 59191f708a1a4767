"""Outputs the docs show for cases that need a setting, produced by the commands themselves.

`refusals` in the hook runs a command line and shows its one error line. Some
cases need more around the command: an etcd without its v2 API, a signal sent
while ``run`` waits, a standard output that is full or closed. Each `Case` here
says what to set up; `run_case` does it, runs the command from this checkout
and returns the command line and what it printed. The build fails when a case
does not end as documented (its exit code), so a changed message cannot leave a
stale copy in the docs.

Addresses that only the build has (a free port, a temporary directory) are shown
as a reader would write them: the etcd as ``etcd:2379``, the master port as
29500, the script as ``train.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ETCD_SHOWN = "etcd:2379"
PORT_SHOWN = "29500"


@dataclass(frozen=True)
class Case:
    """A command line as the docs show it (``rendezvous-di ...``, shell redirections allowed).

    ``exit`` is the code it must end with; ``etcd`` starts a real etcd without the v2
    API, named ``etcd:2379`` in the command; ``stop`` sends that signal once ``run``
    waits at the rendezvous (``29500`` in the command is a free port then).
    """

    command: str
    exit: int
    etcd: bool = False
    silent: bool = False
    """A listener that accepts connections and never answers, named ``etcd:2379`` too."""
    stop: signal.Signals | None = None
    files: tuple[tuple[str, str], ...] = ()
    """Files written into the command's directory first: (name, text)."""


CASES: dict[str, list[Case]] = {
    "v2-disabled": [
        Case(
            "rendezvous-di check --rdzv-backend etcd-v2 --rdzv-endpoint etcd:2379 "
            "--rdzv-id job-7 --timeout 5",
            exit=1,
            etcd=True,
        )
    ],
    "silent-etcd": [
        Case(
            "rendezvous-di check --rdzv-backend etcd-v3 --rdzv-endpoint etcd:2379 "
            "--rdzv-id job-7 --timeout 1",
            exit=1,
            silent=True,
        )
    ],
    "stopped": [
        Case(
            "rendezvous-di run --nnodes 2 --node-rank 1 --master-port 29500 train.py",
            exit=128 + signal.SIGTERM,
            stop=signal.SIGTERM,
        )
    ],
    "lost-output": [
        Case("rendezvous-di --help > /dev/full", exit=1),
        Case("rendezvous-di config >&-", exit=1),
        Case("PYTHONIOENCODING=ascii rendezvous-di config --rdzv-id réunion > job.tsv", exit=1),
    ],
    "config-files": [
        Case(
            "rendezvous-di config --config large.yaml",
            exit=2,
            files=(("large.yaml", "".join(f"key{i}: {i}\n" for i in range(60_000))),),
        ),
        Case(
            "rendezvous-di config --config laughs.yaml",
            exit=2,
            files=(
                (
                    "laughs.yaml",
                    "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                    + "".join(
                        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n"
                        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
                    ),
                ),
            ),
        ),
        Case(
            "PET_NNODES=2:1 rendezvous-di config",
            exit=2,
        ),
    ],
}
"""The cases, by the name a page gives (``<!-- generated: shown NAME -->``)."""


def run_case(case: Case, root: Path) -> str:
    """``$ COMMAND`` and what it printed (stdout, then stderr), as the docs show it.

    Raises:
        RuntimeError: the command did not end with ``case.exit``.
    """
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "train.py").write_text("print('trained')\n")
        for name, text in case.files:
            (work / name).write_text(text)
        replace: dict[str, str] = {}
        server = _etcd(work) if case.etcd else _silent() if case.silent else _nothing()
        with server as endpoint:
            if endpoint:
                replace[ETCD_SHOWN] = endpoint
            if case.stop is not None:
                replace[PORT_SHOWN] = str(_free_port())
            command = case.command
            for shown, real in replace.items():
                command = command.replace(shown, real)
            code, out, err = _run(command, root, work, case.stop)
    if code != case.exit:
        raise RuntimeError(f"shown: {case.command}: exit {code}, not {case.exit}\n{out}{err}")
    text = out + _errors(err) if case.stop is not None else out + err
    for shown, real in replace.items():
        text = text.replace(real, shown)
    return f"$ {case.command}\n{text.rstrip()}"


def _errors(stderr: str) -> str:
    """A stopped ``run``'s ``error:`` line: its progress lines before it are not the point."""
    return "".join(line for line in stderr.splitlines(keepends=True) if line.startswith("error"))


def _run(command: str, root: Path, work: Path, stop: signal.Signals | None) -> tuple[int, str, str]:
    """Run ``command`` with bash, ``rendezvous-di`` being this checkout's; exit code and output."""
    # exec: the signal a case sends reaches the command itself, not a shell waiting for it.
    prelude = f'rendezvous-di() {{ exec {sys.executable} -m rendezvous_di "$@"; }}\n'
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PET_", "SLURM_"))}
    env["PYTHONPATH"] = str(root)
    env["TMPDIR"] = str(work)
    process = subprocess.Popen(
        ["bash", "-c", prelude + command],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if stop is None:
        out, err = process.communicate(timeout=120)
        return process.returncode, out, err
    lines: list[str] = []
    assert process.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(process.stderr or ()), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while not any("waiting at the rendezvous" in line for line in list(lines)):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"shown: never waited at the rendezvous:\n{''.join(lines)}")
        time.sleep(0.1)
    time.sleep(0.5)  # inside torch's wait
    process.send_signal(stop)  # as a scheduler's SIGTERM reaches the agent
    process.wait(timeout=60)  # not communicate(): it would read stderr against the reader
    reader.join(timeout=30)
    assert process.stdout is not None
    with process.stdout, process.stderr:
        out = process.stdout.read()
    return process.returncode, out, "".join(lines)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _nothing() -> Iterator[str]:
    yield ""


@contextmanager
def _silent() -> Iterator[str]:
    """A loopback listener that accepts (the kernel does) and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


ETCD_BINARIES = ("/usr/bin/etcd", shutil.which("etcd") or "")
"""Debian's etcd 3.4 first (the one the docs have always shown), else any on PATH."""


@contextmanager
def _etcd(work: Path) -> Iterator[str]:
    """A real etcd on free loopback ports, without its v2 API (etcd 3.4's default)."""
    binary = next((b for b in ETCD_BINARIES if b and os.access(b, os.X_OK)), None)
    if binary is None:
        raise RuntimeError("shown: no etcd binary to run (make setup installs one)")
    client, peer = _free_port(), _free_port()
    endpoint = f"127.0.0.1:{client}"
    server = subprocess.Popen(
        [
            *(binary, "--name", "docs", "--data-dir", str(work / "etcd")),
            *("--listen-client-urls", f"http://{endpoint}"),
            *("--advertise-client-urls", f"http://{endpoint}"),
            *("--listen-peer-urls", f"http://127.0.0.1:{peer}"),
            *("--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}"),
            *("--initial-cluster", f"docs=http://127.0.0.1:{peer}"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _answers(f"http://{endpoint}/version"):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"shown: etcd ({binary}) did not start")
            time.sleep(0.1)
        yield endpoint
    finally:
        server.kill()
        server.wait()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return "etcdserver" in json.loads(response.read())
    except (OSError, ValueError):
        return False
