"""Nothing left behind: ``run`` removes torch's log directory it made, however the job ends.

torch's launcher makes ``$TMPDIR/torchelastic_*`` for every job without
``--log-dir`` and never removes it. Each test gives the command a temporary
directory of its own (``TMPDIR``), so jobs of parallel tests cannot be
mistaken for its own, and compares that directory before and after: a job that
finished, one whose workers failed, one restarted after a failure, one stopped
by SIGTERM while its workers run, and one stopped while torch's C++ waits at a
static rendezvous (the process ends without unwinding there). A log directory
the user gave is theirs: it stays, with the job's logs in it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.test_signals import StderrLines, interruptible, stop_and_collect, wait_for
from tests.support.procs import REPO, clean_environ, free_port, run_process

pytestmark = pytest.mark.slow

SCRIPTS = {
    "finished": "print('done')\n",
    "failed": "import sys\nsys.exit(4)\n",
    # Fails its first attempt, then passes: the second round gets a directory of its own.
    "restarted": (
        "import os, sys\n"
        "marker = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'tried')\n"
        "if not os.path.exists(marker):\n"
        "    open(marker, 'w').close()\n"
        "    sys.exit(3)\n"
    ),
}
EXIT_CODES = {"finished": 0, "failed": 1, "restarted": 0}

SLEEPER = """\
import os, sys, time
open(os.path.join(sys.argv[1], str(os.getpid())), "w").close()
time.sleep(120)
"""


def private_tmp(tmp_path: Path) -> Path:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return tmp


def run(
    args: list[str], tmp: Path, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = clean_environ({"TMPDIR": str(tmp), "OMP_NUM_THREADS": "1", **(extra or {})})
    return run_process([sys.executable, "-m", "rendezvous_di", "run", *args], env=env, timeout=180)


@pytest.mark.parametrize("ending", sorted(SCRIPTS))
def test_a_job_leaves_its_temporary_directory_as_it_found_it(ending: str, tmp_path: Path) -> None:
    tmp = private_tmp(tmp_path)
    script = tmp_path / "job" / "train.py"
    script.parent.mkdir()
    script.write_text(SCRIPTS[ending])
    (tmp / "someone-elses").mkdir()  # what was there before stays
    before = sorted(tmp.iterdir())
    done = run(["--max-restarts", "1", "--monitor-interval", "0.2", str(script)], tmp)
    assert done.returncode == EXIT_CODES[ending], done.stderr[-3000:]
    assert sorted(tmp.iterdir()) == before


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_log_dir_the_user_gave_stays_with_the_logs(how: str, tmp_path: Path) -> None:
    tmp = private_tmp(tmp_path)
    logs = tmp_path / "logs"
    script = tmp_path / "train.py"
    script.write_text(SCRIPTS["failed"])
    flags, env = (
        (["--log-dir", str(logs)], {}) if how == "flag" else ([], {"PET_LOG_DIR": str(logs)})
    )
    done = run([*flags, str(script)], tmp, env)
    assert done.returncode == 1, done.stderr[-3000:]
    assert list(tmp.iterdir()) == []  # nothing of torch's own in TMPDIR
    assert any(logs.rglob("attempt_0")), sorted(logs.rglob("*"))


def start(args: list[str], tmp: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rendezvous_di", "run", *args],
        env=clean_environ({"TMPDIR": str(tmp), "OMP_NUM_THREADS": "1"}),
        preexec_fn=interruptible,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_sigterm_leaves_nothing(
    agent: subprocess.Popen[str], stderr: StderrLines, tmp: Path, ready: Callable[[], None]
) -> None:
    """Once ``ready()`` passes (the agent is killed if it fails), SIGTERM ends the agent
    with 143 and its TMPDIR is empty."""
    try:
        ready()
    except BaseException:
        agent.kill()
        raise
    text = stop_and_collect(agent, stderr, signal.SIGTERM)
    assert agent.returncode == 128 + signal.SIGTERM, text
    assert list(tmp.iterdir()) == []


def test_sigterm_while_workers_run_leaves_nothing(tmp_path: Path) -> None:
    tmp = private_tmp(tmp_path)
    script, pids = tmp_path / "worker.py", tmp_path / "pids"
    script.write_text(SLEEPER)
    pids.mkdir()
    agent = start(["--standalone", "--nproc-per-node", "1", str(script), str(pids)], tmp)
    stderr = StderrLines(agent)

    def ready() -> None:
        wait_for(lambda: any(pids.iterdir()), timeout=90)
        assert [p.name for p in tmp.iterdir() if p.name.startswith("torchelastic_")] != []

    assert_sigterm_leaves_nothing(agent, stderr, tmp, ready)


def test_sigterm_while_torch_waits_in_cpp_leaves_nothing(tmp_path: Path) -> None:
    """A static rendezvous's second node waits for its host inside torch's C++: the signal
    watcher ends that process without unwinding, and removes the directory first."""
    tmp = private_tmp(tmp_path)
    script = tmp_path / "worker.py"
    script.write_text(SLEEPER)
    agent = start(
        [
            *("--nnodes", "2", "--node-rank", "1", "--master-port", str(free_port())),
            *("--nproc-per-node", "1", str(script), str(tmp_path)),
        ],
        tmp,
    )
    stderr = StderrLines(agent)

    def ready() -> None:
        wait_for(lambda: stderr.seen("waiting at the rendezvous"), timeout=90)
        wait_for(lambda: any(tmp.iterdir()), timeout=30)

    assert_sigterm_leaves_nothing(agent, stderr, tmp, ready)
