"""One overall time budget, handed out step by step: a probe, a plugin load in a child.

Every wait a user can start (``check --timeout``, a completion that loads a
plugin) must end when its budget does, whatever the step: a DNS lookup, a
socket, a child process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class Deadline:
    """The time left of one overall budget, handed out to each network step."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left, at least a small positive value so that a step can still fail fast."""
        return max(self._end - time.monotonic(), 0.05)

    def expired(self) -> bool:
        """Whether the budget is spent."""
        return time.monotonic() >= self._end


class ProbeTimeout(Exception):
    """A step did not finish within the probe's budget."""


def bounded(call: Callable[[], Any], deadline: Deadline, what: str) -> Any:
    """Run a call that has no timeout of its own (DNS lookups) within the budget."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as error:
            box["error"] = error

    worker = threading.Thread(target=target, name="rdzv-probe", daemon=True)
    worker.start()
    worker.join(deadline.left())
    if worker.is_alive():
        raise ProbeTimeout(f"{what} did not finish within {deadline.seconds:g}s")
    if "error" in box:
        raise box["error"]
    return box["value"]
