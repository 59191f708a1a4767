"""Output that is lost is a failure; output that reaches a terminal cannot steer it.

A command whose output went nowhere (a full disk, a closed stdout, an
encoding that cannot write a value) exits 1 with one ``error: cannot write
the output`` line, never 0 and never a traceback. Values holding control
characters are shown as escapes on every line a person reads, and as bash's
``$'...'`` in the commands ``run --dry-run`` prints, so pasting gives the
same value back.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.procs import REPO, clean_environ, run_cli

ESCAPES = "\x1b[31m\x1b]0;title\x07\r\u202e"
"""Colour, window title, bell, carriage return, right-to-left override."""

COMMANDS = [
    ["--version"],
    ["--help"],
    ["config", "--help"],
    ["config"],
    ["config", "--format", "yaml"],
    ["backends"],
    ["schema"],
    ["run", "--dry-run", "train.py"],
]


def lost(args: list[str], *, closed: bool) -> subprocess.CompletedProcess[str]:
    """Run the CLI with stdout on /dev/full, or closed (``>&-``)."""
    with open("/dev/full", "w") as full:
        return subprocess.run(
            [sys.executable, "-m", "rendezvous_di", *args],
            env=clean_environ(),
            cwd=REPO,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
            preexec_fn=(lambda: os.close(1)) if closed else None,
        )


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("closed", [False, True], ids=["dev-full", "closed"])
def test_output_that_cannot_be_written_is_exit_1_with_one_line(
    args: list[str], closed: bool
) -> None:
    done = lost(args, closed=closed)
    reason = "standard output is closed" if closed else "No space left on device"
    assert done.returncode == 1, done.stderr
    assert done.stderr == f"error: cannot write the output: {reason}\n"


def test_torchs_run_help_that_cannot_be_written_is_a_failure_too() -> None:
    done = lost(["run", "--help"], closed=False)
    assert (done.returncode, done.stderr.splitlines()) == (
        1,
        ["error: cannot write the output: No space left on device"],
    )


@pytest.mark.parametrize("output", ["table", "yaml", "env"])
def test_an_encoding_that_cannot_write_a_value_is_one_line(output: str) -> None:
    done = run_cli(
        ["config", "--rdzv-id", "jöb-✓", "--format", output], env={"PYTHONIOENCODING": "ascii"}
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr == (
        "error: cannot write the output: its encoding ascii has no '\\xf6' "
        "(set PYTHONIOENCODING=utf-8)\n"
    )


def test_json_escapes_what_an_ascii_output_cannot_write() -> None:
    done = run_cli(["config", "--rdzv-id", "jöb", "--json"], env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0, done.stderr
    assert '"run_id": "j\\u00f6b"' in done.stdout


def test_control_characters_in_a_value_are_escapes_in_tables_and_errors() -> None:
    table = run_cli(["config", "--rdzv-id", f"job{ESCAPES}"])
    assert table.returncode == 0, table.stderr
    run_id = next(line for line in table.stdout.splitlines() if line.startswith("run_id"))
    assert run_id.split("\t")[1] == "job\\x1b[31m\\x1b]0;title\\x07\\r\\u202e"
    error = run_cli(["config", "--rdzv-id", f"job{ESCAPES}", "--rdzv-backend", f"x{ESCAPES}"])
    assert error.returncode == 2
    assert error.stderr.isprintable() or error.stderr.rstrip("\n").isprintable()
    assert "\x1b" not in error.stderr


def test_dry_run_writes_control_characters_as_bash_escapes_that_paste_back() -> None:
    run_id = f"job{ESCAPES}\u2028"
    done = run_cli(["run", "--dry-run", "--rdzv-id", run_id, "train.py"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip("\n").replace("\n", "").isprintable()
    env_line = next(line for line in done.stdout.splitlines() if line.startswith("PET_RDZV_ID="))
    echoed = subprocess.run(
        ["bash", "-c", f'{env_line}; printf %s "$PET_RDZV_ID"'],
        capture_output=True,
        env={"LANG": "C.UTF-8", "PATH": os.environ["PATH"]},
        check=True,
    ).stdout  # bytes: text mode would turn the \r into \n
    assert echoed.decode() == run_id


def test_the_summary_line_of_run_is_escaped_too(tmp_path: object) -> None:
    done = run_cli(
        ["run", "--rdzv-id", f"j{ESCAPES}", "--nproc-per-node", "1", "examples/allreduce.py"]
    )
    assert done.returncode == 0, done.stderr
    summary = next(line for line in done.stderr.splitlines() if "run_id=" in line)
    assert "run_id=j\\x1b[31m" in summary
    assert "\x1b" not in done.stderr
