"""Standard output that fails: a closed pipe (``| head -c1``), a full disk (``> /dev/full``), none.

Python reports a failed write as a traceback, and a failed final flush as an
"Exception ignored" message after the command has finished. A reader that
closed the pipe early got what it wanted: the command ends quietly with its
own exit code. Output that could not be written (a full disk) is one
``error:`` line and exit code 1, since the caller did not get the output.
"""

from __future__ import annotations

import codecs
import errno
import io
import os
import sys
from typing import Any

WRITE_FAILED = 1


class ClosedStdout(io.TextIOBase):
    """Standard output that was closed (``>&-``): writing to it fails as writing to a closed
    descriptor does, so a command whose output is lost says so instead of exiting 0."""

    def write(self, text: str) -> int:
        if not text:
            return 0
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:  # nothing was written, so nothing is lost
        pass

    def isatty(self) -> bool:
        return False


def ensure_stdout() -> None:
    """A command started with its stdout closed (``>&-``) fails when it writes, not on None."""
    if sys.stdout is None:
        sys.stdout = ClosedStdout()


def finish(code: int) -> int:
    """Flush stdout before the interpreter does, so a failure is reported here, once."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError as error:
        return output_failed(error, code)
    return code


def is_output_failure(error: OSError) -> bool:
    """Whether ``error`` came from writing stdout: it is a closed pipe, or stdout cannot flush."""
    if isinstance(error, BrokenPipeError) or error.errno in (
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EBADF,
    ):
        return True
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError:
        return True
    return False


def output_failed(error: OSError, code: int) -> int:
    """End after a failed write to stdout: quietly for a closed pipe, else with one error line."""
    _discard_stdout()
    if isinstance(error, BrokenPipeError) or error.errno == errno.EPIPE:
        return code
    report(f"error: cannot write the output: {error.strerror or error}")
    return WRITE_FAILED


def encoding_failed(error: UnicodeEncodeError, code: int) -> int | None:
    """End after stdout's encoding could not write a character (``PYTHONIOENCODING=ascii``):
    one error line and exit code 1; None when the error did not come from stdout."""
    encoding = getattr(sys.stdout, "encoding", None)
    if not encoding or codecs.lookup(encoding).name != codecs.lookup(error.encoding).name:
        return None
    _discard_stdout()
    bad = error.object[error.start : error.start + 1]
    report(
        f"error: cannot write the output: its encoding {encoding} has no {bad!a} "
        "(set PYTHONIOENCODING=utf-8)"
    )
    return WRITE_FAILED


def print_message(message: str, file: Any = None) -> None:
    """argparse's ``_print_message`` without its ``except OSError: pass``: ``--help`` or
    ``--version`` written to a full disk is a failed command, not exit code 0."""
    if message:
        (file or sys.stderr).write(message)


def report(line: str) -> None:
    """Write one line to stderr; a stderr that fails too leaves nobody to tell."""
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, AttributeError, ValueError):
        pass


def _discard_stdout() -> None:
    """Point stdout's descriptor at /dev/null: what is still buffered goes nowhere, silently."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, AttributeError, ValueError):
        pass
