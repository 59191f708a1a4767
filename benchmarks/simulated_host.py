"""A host of simulated agents: ``python -m benchmarks.simulated_host``.

One process holds many agents, one thread each; every agent has its own
container (or torch's registry handler), its own handler and its own store
connection, as a real agent on its own machine would. Threads share the
process's interpreter lock, which real agents do not, so a coordinator
spreads the agents over several such processes.

Commands, one JSON line each on stdin, answers one JSON line each on stdout:

- ``{"op": "create", "mode", "backend", "endpoint", "run_id", "nodes", "agents", "conf"}``:
  create ``agents`` handlers (``mode`` ``event``/``poll``: a container with
  ``sync`` set; ``torch``: torch's registry) and answer ``{"created": true}``;
- ``{"op": "go", "start"}``: at the wall-clock time ``start`` (every host
  starts together) call ``next_rendezvous`` in every thread; answer
  ``{"done": <last agent's wall-clock time>, "ranks": [...], "errors": [...],
  "writes", "lost", "reads"}`` (the state's compare-and-sets, those that lost their race,
  and the handler's reads of the state);
- ``{"op": "close"}``: shut every handler down (once every host answered: torch's
  join reads "closed" before "complete", so closing at once would fail the
  nodes of other hosts that have yet to read the completed round); answer
  ``{"closed": true}``.
- ``{"op": "silence", "index"}``: stop agent ``index``'s heartbeats, as if its
  agent died (its handler stays, quiet); answer ``{"node": <its node's repr>}``;
- ``{"op": "exit"}``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
from typing import Any


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _handler(command: dict[str, Any]) -> tuple[Any, Any]:
    """The handler and its shutdown: as a benchmark agent makes them, ``sync`` as ``mode``."""
    from .rendezvous_agent import create

    if command["mode"] == "torch":
        return create({**command, "mode": "torch"})
    conf = {"sync": command["mode"]}
    if command["mode"] == "poll":  # torch's waiting and torch's beats, through our container
        conf["heartbeats"] = "state"
    return create({**command, "mode": "ours", "conf": {**conf, **command["conf"]}})


class _Counting:
    """Counts a handler's writes of the state, the ones that lost their race, and its reads
    (each one read of the state from the store: etcd-v3's join uses the one its turn check
    made).

    Benchmark instrumentation only: it stands in for the handler's state
    backend (torch's private ``_state_holder._backend``), in every mode alike.
    """

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.writes = 0
        self.lost = 0
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def get_state(self) -> Any:
        self.reads += 1
        return self._backend.get_state()

    def set_state(self, state: bytes, token: Any = None) -> Any:
        answer = self._backend.set_state(state, token)
        self.writes += 1
        if answer is not None and not answer[2]:
            self.lost += 1
        return answer


def _count_writes(handler: Any) -> _Counting:
    holder = handler._state_holder
    counting = _Counting(holder._backend)
    holder._backend = counting
    return counting


def _go(made: list[tuple[Any, Any]], start: float) -> None:
    done: list[float] = []
    ranks: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def join(handler: Any) -> None:
        try:
            info = handler.next_rendezvous()
            with lock:
                done.append(time.time())
                ranks.append(info.rank)
        except Exception as error:
            with lock:
                errors.append(f"{type(error).__name__}: {error}"[:300])

    counters = [_count_writes(h) for h, _ in made]
    threads = [threading.Thread(target=join, args=(h,), daemon=True) for h, _ in made]
    time.sleep(max(0.0, start - time.time()))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    distinct = sorted(set(errors), key=errors.index)
    writes = sum(c.writes for c in counters)
    lost = sum(c.lost for c in counters)
    reads = sum(c.reads for c in counters)
    _say(
        {
            "done": max(done, default=None),
            "ranks": ranks,
            "errors": distinct[:5],
            "writes": writes,
            "lost": lost,
            "reads": reads,
        }
    )


def _close(made: list[tuple[Any, Any]]) -> None:
    for _, close in made:
        with contextlib.suppress(Exception):  # a failed round's handlers may not close cleanly
            close()
    _say({"closed": True})


def main() -> None:
    import torch.distributed.elastic.rendezvous.registry  # noqa: F401  (not timed)

    import rendezvous_di.container  # noqa: F401  (not timed)

    if os.environ.get("AGENT_LOGLEVEL"):  # ours only: torch's would drown them at 256 agents
        logging.basicConfig(format="%(relativeCreated)d %(threadName)s %(name)s: %(message)s")
        logging.getLogger("rendezvous_di").setLevel(os.environ["AGENT_LOGLEVEL"])
    sys.setswitchinterval(0.001)  # threads stand in for machines: hand the lock over often
    _say({"ready": True})
    made: list[tuple[Any, Any]] = []
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "create":
            made = [_handler(command) for _ in range(int(command["agents"]))]
            _say({"created": True})
        elif command["op"] == "go":
            _go(made, float(command["start"]))
        elif command["op"] == "silence":
            handler = made[int(command["index"])][0]
            handler._stop_heartbeats()  # torch's own: the beats end as with a dead agent
            close = getattr(getattr(handler, "_etcd_beating", None), "close", None)
            if close is not None:  # and etcd-v3's keep-alive of its liveness lease
                close()
            _say({"node": repr(handler._this_node)})
        elif command["op"] == "close":
            _close(made)
            made = []
        else:
            break


if __name__ == "__main__":
    main()
