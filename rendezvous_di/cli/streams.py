"""Standard output that fails: a closed pipe (``| head -c1``), a full disk (``> /dev/full``), none.

Python reports a failed write as a traceback, and a failed final flush as an
"Exception ignored" message after the command has finished. A reader that
closed the pipe early got what it wanted: the command ends quietly with its
own exit code. Output that could not be written (a full disk) is one
``error:`` line and exit code 1, since the caller did not get the output.
"""

from __future__ import annotations

import errno
import os
import sys

WRITE_FAILED = 1


def ensure_stdout() -> None:
    """A command started with its stdout closed (``>&-``) writes to nowhere, not to None."""
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process


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
    if isinstance(error, BrokenPipeError) or error.errno in (errno.ENOSPC, errno.EDQUOT):
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
