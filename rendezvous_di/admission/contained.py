"""Running a check where it cannot hurt the agent: a child process, or a bounded thread.

A check named by ``module:attr`` (every built-in node check and every
``rendezvous_di.checks`` plugin) runs in a child process of its own: one
that raises, calls ``os._exit``, crashes in C or hangs is reported as an
``error`` result naming what happened, and at its timeout the child and
everything it started are killed. A check known only as a Python object (a
platform's, added with `add_check`) runs in a daemon thread of the agent,
bounded by its timeout too; it shares the agent's process, which is why the
entry point form is the one to use for untrusted code.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..text import one_line
from .result import CheckResult, error, normalize

_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[2]); "
    "from rendezvous_di.admission._child import main; main(int(sys.argv[1]))"
)


def ask_child(request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    """One request answered by a fresh child process within ``timeout`` seconds.

    Never raises for what the child does: the answer is ``{"ok": False,
    "reason": ...}`` when it exits without answering, is killed by a signal,
    or outlives the timeout (it is killed then, with its process group).
    """
    read_fd, write_fd = os.pipe()
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(write_fd), _PACKAGE_PARENT],
            stdin=subprocess.PIPE,
            stdout=sys.stderr.fileno() if _has_fileno(sys.stderr) else subprocess.DEVNULL,
            pass_fds=(write_fd,),
            start_new_session=True,
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    try:
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # a child already gone is named below
            process.stdin.write((json.dumps({**request, "path": sys.path}) + "\n").encode())
            process.stdin.flush()
        data = _read_until(read_fd, time.monotonic() + timeout)
    finally:
        os.close(read_fd)
        _stop(process)
    if data is None:
        return {"ok": False, "reason": f"did not finish within its timeout of {timeout:g}s"}
    try:
        answer: dict[str, Any] = json.loads(data)
        return answer
    except ValueError:
        return {"ok": False, "reason": _ended(process)}


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


def _read_until(fd: int, deadline: float) -> bytes | None:
    """Everything written on ``fd`` until it closes; None at the deadline."""
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Close the child's stdin (it exits) and kill its group if it lingers."""
    with contextlib.suppress(OSError):
        assert process.stdin is not None
        process.stdin.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=2)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # and whatever the check started
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def _ended(process: subprocess.Popen[bytes]) -> str:
    code = process.poll()
    if code is None:
        return "ended without an answer"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"its process was killed by {signal.Signals(-code).name}"
    return f"its process exited with status {code} before answering"


def run_in_child(
    name: str, target: str, options: Mapping[str, Any], context: Mapping[str, Any], timeout: float
) -> CheckResult:
    """Run the check ``target`` (``module:attr``) in a child; its result, or an ``error``."""
    started = time.monotonic()
    answer = ask_child(
        {
            "mode": "run",
            "name": name,
            "target": target,
            "options": dict(options),
            "context": dict(context),
        },
        timeout,
    )
    seconds = time.monotonic() - started
    if not answer.get("ok"):
        return error(name, str(answer.get("reason"))).timed(seconds)
    result = CheckResult.from_json({**answer.get("result", {}), "check": name})
    return result.timed(seconds)


def run_in_thread(
    name: str,
    function: Callable[[Mapping[str, Any], Mapping[str, Any]], Any],
    options: Mapping[str, Any],
    context: Mapping[str, Any],
    timeout: float,
) -> CheckResult:
    """Run ``function`` in a daemon thread; an ``error`` if it raises or outlives ``timeout``.

    A thread cannot be killed: one that hangs is left behind (a daemon, it
    does not keep the process alive) and the check is reported as timed out.
    """
    outcome: list[CheckResult] = []
    started = time.monotonic()

    def target() -> None:
        try:
            outcome.append(normalize(name, function(options, context)))
        except BaseException as raised:  # SystemExit too: a check must not end the agent
            text = str(raised)
            outcome.append(
                error(name, f"raised {type(raised).__name__}" + (f": {text}" if text else ""))
            )

    thread = threading.Thread(target=target, name=f"admission-{name}", daemon=True)
    thread.start()
    thread.join(timeout)
    seconds = time.monotonic() - started
    if not outcome:
        return error(name, f"did not finish within its timeout of {timeout:g}s").timed(seconds)
    return outcome[0].timed(seconds)


def describe_in_child(name: str, target: str, timeout: float) -> dict[str, Any]:
    """Load the plugin ``target`` in a child and read its declaration (kind, options, summary)."""
    answer = ask_child({"mode": "describe", "name": name, "target": target}, timeout)
    if not answer.get("ok"):
        answer["reason"] = one_line(str(answer.get("reason")))
    return answer
