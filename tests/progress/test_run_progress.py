"""`rendezvous-di run` shows rendezvous progress and a summary: two real agents on loopback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.procs import REPO, clean_environ, communicate_all, free_port, run_process

pytestmark = pytest.mark.slow

WORKER = str(REPO / "examples" / "allreduce.py")
SUMMARY = re.compile(
    r"rendezvous-di: rendezvous complete: round 0, world size 2, this node's rank (\d), "
    r"took \d+\.\ds"
)


def documented(kind: str) -> re.Pattern[str]:
    """The example line of ``kind`` in docs/cli.md as a pattern: every number stands for
    any number, except the round's, which must be the one the docs show."""
    page = (REPO / "docs" / "cli.md").read_text()
    (line,) = [ln for ln in page.splitlines() if ln.startswith(f"rendezvous-di: {kind}")]
    parts = re.split(r"(\d+(?:\.\d+)?)", line)
    pattern = ""
    for index, part in enumerate(parts):
        if index % 2 == 0 or parts[index - 1].endswith("round "):
            pattern += re.escape(part)
        else:
            pattern += r"\d+(?:\.\d+)?"
    return re.compile(pattern)


def test_each_agent_reports_waiting_and_its_place_in_the_world() -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    agents = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rendezvous_di",
                "run",
                "--rdzv-backend=c10d",
                f"--rdzv-endpoint={endpoint}",
                "--rdzv-id=progress",
                f"--rdzv-conf=is_host={str(host).lower()},join_timeout=60,last_call_timeout=1",
                "--nnodes=2",
                "--nproc-per-node=1",
                WORKER,
            ],
            env=clean_environ(),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for host in (True, False)
    ]
    outputs = communicate_all(agents)
    ranks = []
    for agent, (_, err) in zip(agents, outputs, strict=True):
        assert agent.returncode == 0, err[-3000:]
        # Not a terminal: plain log lines, no carriage returns.
        assert "rendezvous-di: waiting at the rendezvous" in err
        assert " of 2 nodes joined, " in err
        assert "\r" not in err
        match = SUMMARY.search(err)
        assert match is not None, err[-3000:]
        ranks.append(int(match.group(1)))
        # What docs/cli.md shows is what a real run prints, round number included.
        assert documented("rendezvous complete").search(err), err[-3000:]
    assert sorted(ranks) == [0, 1]


def test_a_restart_is_reported_as_the_next_round(tmp_path: Path) -> None:
    """After a worker failure the agent asks for round 1: its wait line says round 1, as its
    summary does (it used to show round 0, the round it was leaving)."""
    script = tmp_path / "fails_once.py"
    script.write_text(
        "import os, sys\n"
        f"marker = {str(tmp_path / 'tried')!r}\n"
        "if not os.path.exists(marker):\n"
        "    open(marker, 'w').close()\n"
        "    sys.exit(3)\n"
    )
    done = run_process(
        [
            *(sys.executable, "-m", "rendezvous_di", "run", "--rdzv-backend", "c10d"),
            *("--rdzv-endpoint", "127.0.0.1:0", "--max-restarts", "1"),
            *("--monitor-interval", "0.2", str(script)),
        ],
        env=clean_environ(),
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("rendezvous-di: ")]
    failed = next(i for i, ln in enumerate(lines) if "rendezvous complete: round 0" in ln)
    after = lines[failed + 1 :]
    assert "rendezvous (round 1)" in after[0] or "rendezvous complete: round 1" in after[0], lines
    assert not any("round 0" in line for line in after), lines
    assert any(line.startswith("rendezvous-di: rendezvous complete: round 1, ") for line in after)
