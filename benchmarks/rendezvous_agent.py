"""A light rendezvous agent for the scale benchmark: ``python -m benchmarks.rendezvous_agent``.

One process per node, kept for many rounds so that torch's import (about 1.3 s
a process) is paid once, not timed. It reads one JSON command a line on stdin
and answers one JSON line on stdout:

- ``{"op": "round", "mode", "backend", "endpoint", "run_id", "nodes", "conf", "seed"}``:
  seed ``random`` (torch's pacing draws from it: see `benchmarks.paired`),
  create the handler (``mode`` ``ours``: a fresh ``RendezvousContainer`` and
  ``container.handler()``; ``torch``: torch's
  ``registry.get_rendezvous_handler``), call ``next_rendezvous`` and answer
  ``{"done": <monotonic time>, "create_s", "join_s", "rank", "world"}`` (the
  seconds spent creating the handler and in ``next_rendezvous``). Both modes are timed the
  same way, from the command to the answer, creation included.
- then, until the next line arrives, the agent idles as torchrun's agent does
  while its workers run: the handler's keep-alive thread beats every
  ``keep_alive_interval`` and the main loop asks ``num_nodes_waiting()`` every
  ``monitor_interval`` (torchrun's default, 0.1 s), so the store sees the
  steady load of a running job.
- ``{"op": "end"}``: shut the handler down (the container's resources, or
  ``handler.shutdown()``) and answer ``{"closed": true}``.
- ``{"op": "exit"}`` (or end of input): leave.

Before its first command it imports torch's rendezvous package and
rendezvous-di's container, and answers ``{"ready": true}``.
"""

from __future__ import annotations

import json
import random
import select
import sys
import time
from collections.abc import Callable
from typing import Any

MONITOR_INTERVAL = 0.1


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def create(command: dict[str, Any]) -> tuple[Any, Callable[[], object]]:
    """The handler, and how to shut it down, for ``mode`` ``ours`` or ``torch``."""
    nodes = int(command["nodes"])
    if command["mode"] == "ours":
        from rendezvous_di import RendezvousContainer

        container = RendezvousContainer()
        container.environ.override({})
        container.config.from_dict(
            {
                "backend": command["backend"],
                "endpoint": command["endpoint"],
                "run_id": command["run_id"],
                "min_nodes": nodes,
                "max_nodes": nodes,
                "conf": command["conf"],
            }
        )
        return container.handler(), container.shutdown_resources
    from torch.distributed.elastic.rendezvous import RendezvousParameters
    from torch.distributed.elastic.rendezvous.registry import get_rendezvous_handler

    params = RendezvousParameters(
        command["backend"],
        command["endpoint"],
        command["run_id"],
        nodes,
        nodes,
        **command["conf"],
    )
    handler = get_rendezvous_handler(params)
    return handler, handler.shutdown


def _idle(handler: Any) -> None:
    """Poll ``num_nodes_waiting`` as torchrun's monitor loop does until a command arrives."""
    while not select.select([sys.stdin], [], [], MONITOR_INTERVAL)[0]:
        handler.num_nodes_waiting()


def main() -> None:
    import torch.distributed.elastic.rendezvous.registry  # noqa: F401  (not timed)

    import rendezvous_di.container  # noqa: F401  (not timed)

    _say({"ready": True})
    handler: Any = None
    close: Callable[[], object] | None = None
    while True:
        if handler is not None:
            _idle(handler)
        line = sys.stdin.readline()
        if not line:
            break
        command = json.loads(line)
        op = command["op"]
        if op == "round":
            # torch's pacing draws from the global ``random`` (its 0-0.3 s first-join delay):
            # the same seed for both variants of a pair gives both the same pacing
            random.seed(command.get("seed"))
            received = time.monotonic()
            handler, close = create(command)
            created = time.monotonic()
            info = handler.next_rendezvous()
            done = time.monotonic()
            _say(
                {
                    "done": done,
                    "create_s": created - received,
                    "join_s": done - created,
                    "rank": info.rank,
                    "world": info.world_size,
                }
            )
        elif op == "end":
            if close is not None:
                close()
            handler = close = None
            _say({"closed": True})
        elif op == "exit":
            break
    if close is not None:
        close()


if __name__ == "__main__":
    main()
