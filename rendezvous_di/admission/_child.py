"""The child side of `rendezvous_di.admission.contained`: one check, described or run.

Reads one JSON request on stdin (``sys.path``, the mode, the check's
``module:attr``, its options and context), writes one JSON answer on the
pipe it was given, and exits. Keeps no state: the parent starts one child
per request and kills it at the deadline. The check's own output goes to
stderr, never to the pipe.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any


def _write(fd: int, answer: dict[str, Any]) -> None:
    data = (json.dumps(answer, default=repr) + "\n").encode()
    while data:
        data = data[os.write(fd, data) :]


def _exit_with_the_parent() -> None:
    sys.stdin.buffer.read()  # blocks until the parent closes stdin (or dies)
    os._exit(0)


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    from ..plugins.entry_points import InstalledEntryPoint
    from .check import from_callable
    from .result import normalize

    name = request["name"]
    entry_point = InstalledEntryPoint(name, request["target"], "rendezvous_di.checks")
    try:
        function = entry_point.load()
    except KeyboardInterrupt as error:  # raised by the plugin: no user pressed Ctrl-C here
        return {"ok": False, "reason": f"failed to import: KeyboardInterrupt: {error}"}
    except BaseException as error:  # SystemExit too: the parent must hear why
        return {"ok": False, "reason": f"failed to import: {type(error).__name__}: {error}"}
    if request["mode"] == "describe":
        try:
            check = from_callable(name, function)
        except ValueError as error:
            return {"ok": False, "reason": f"declares an invalid check: {error}"}
        return {
            "ok": True,
            "kind": check.kind,
            "summary": check.summary,
            "options": {o.name: o.declaration() for o in check.schema.options},
        }
    try:
        value = function(request["options"], request["context"])
    except BaseException as error:
        return {"ok": True, "result": {"status": "error", "reason": _raised(error)}}
    return {"ok": True, "result": normalize(name, value).to_json()}


def _raised(error: BaseException) -> str:
    text = str(error)
    return f"raised {type(error).__name__}" + (f": {text}" if text else "")


def main(fd: int) -> None:
    """Serve the one request on stdin."""
    request = json.loads(sys.stdin.buffer.readline())
    sys.path[:] = request["path"]
    threading.Thread(target=_exit_with_the_parent, daemon=True).start()
    _write(fd, _answer(request))
    os.close(fd)
    sys.stdout.flush()
    os._exit(0)  # a check's non-daemon threads must not keep the child alive
