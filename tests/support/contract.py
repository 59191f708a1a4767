"""The command line's error contract, asserted: what every bad input must get back."""

from __future__ import annotations

import subprocess

MAX_STDERR = 2000
"""Bounded, whatever the input's size: megabytes of bad input never reach the terminal."""


def refused(done: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Assert the error contract and return the error line."""
    stderr = done.stderr
    assert done.returncode == 2, (done.returncode, stderr[:500])
    assert len(stderr) < MAX_STDERR, stderr[:500]
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert lines, stderr
    assert lines[0].startswith("error: "), stderr[:500]
    assert [line for line in lines if line.startswith("error:")] == [lines[0]]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]
