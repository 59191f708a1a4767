"""Live progress of the rendezvous in ``rendezvous-di run``.

torch's agent blocks in ``handler.next_rendezvous()`` for up to
``join_timeout`` and says nothing meanwhile: an operator cannot tell a slow
peer from a wrong endpoint. `watch` wraps that one method on the
handler instance (the class, every other method and property such as
``use_agent_store`` and ``get_backend()`` stay torch's own), and while a call
waits a monitor thread reports how many nodes joined against the expected
``min..max`` and the elapsed time: one updating line on a terminal, a log line
every few seconds otherwise. When the call returns, a summary gives the
round, the world size, this node's rank and the time taken.

How many nodes joined is read from the backend's state without touching the
handler's state (which is not thread-safe): torch's dynamic rendezvous
(c10d, etcd-v2) keeps it pickled in its backend, which the monitor reads
directly, the legacy etcd handler in an etcd key. Unknown handlers (plugins, static) show time only.
"""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

PREFIX = "rendezvous-di:"


@dataclass(frozen=True)
class Snapshot:
    """What the backend said about the rendezvous being formed."""

    joined: int
    round: int | None = None
    complete: bool = False
    """The round this node is in has formed; the handler is finishing its join."""


def read_snapshot(handler: Any) -> Snapshot | None:
    """Nodes joined so far, read from the backend's shared state; None when unknown.

    Reads only; never raises (a failed read just shows no count this time).
    """
    try:
        holder = getattr(handler, "_state_holder", None)
        backend = getattr(holder, "_backend", None)
        if backend is not None and hasattr(backend, "get_state"):
            return _dynamic_snapshot(backend, getattr(handler, "_this_node", None))
        impl = getattr(handler, "_rdzv_impl", None)
        if impl is not None and hasattr(impl, "get_rdzv_state"):
            try:
                _, state = impl.get_rdzv_state()
            except Exception as error:
                if type(error).__name__ == "EtcdKeyNotFound":  # nobody joined yet
                    return Snapshot(joined=0)
                raise
            participants = state.get("participants", []) if isinstance(state, dict) else []
            return Snapshot(joined=len(participants))
    except Exception:
        return None
    return None


def _dynamic_snapshot(backend: Any, node: Any) -> Snapshot | None:
    result = backend.get_state()
    if result is None:
        return Snapshot(joined=0)
    # The same pickled _RendezvousState torch's own state holder loads from this backend.
    state = pickle.loads(result[0])
    if state.complete and node is not None and node in state.participants:
        return Snapshot(joined=len(state.participants), round=state.round, complete=True)
    if state.complete:
        # A round formed without this node: it and the others waiting join the next one.
        return Snapshot(joined=len(state.wait_list), round=state.round + 1)
    return Snapshot(joined=len(state.participants), round=state.round)


def handler_round(handler: Any) -> int | None:
    """The round the handler just joined (torch's dynamic rendezvous), else None."""
    holder = getattr(handler, "_state_holder", None)
    state = getattr(holder, "state", None)
    value = getattr(state, "round", None)
    return value if isinstance(value, int) else None


class ProgressReporter:
    """Reports one handler's rendezvous rounds to ``stream``.

    Args:
        min_nodes: the fewest nodes expected, shown as ``min..max`` with ``max_nodes``.
        max_nodes: the most nodes expected.
        interval: seconds between updates on a terminal.
        log_interval: seconds between log lines when ``stream`` is not a terminal.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        min_nodes: int,
        max_nodes: int,
        interval: float = 0.5,
        log_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.expected = str(min_nodes) if min_nodes == max_nodes else f"{min_nodes}..{max_nodes}"
        self.interactive = bool(getattr(stream, "isatty", lambda: False)())
        self.interval = interval if self.interactive else log_interval
        self.clock = clock
        self.attempts = 0

    def watch(self, handler: Any) -> None:
        """Wrap ``handler.next_rendezvous`` on this instance only; the class is untouched."""
        original = handler.next_rendezvous

        def next_rendezvous() -> Any:
            return self.observe(handler, original)

        next_rendezvous.__doc__ = original.__doc__
        handler.next_rendezvous = next_rendezvous

    def observe(self, handler: Any, call: Callable[[], Any]) -> Any:
        """Run one ``next_rendezvous`` call, reporting while it waits and when it ends."""
        self.attempts += 1
        started = self.clock()
        done = threading.Event()
        monitor = threading.Thread(
            target=self._monitor, args=(handler, started, done), name="rdzv-progress", daemon=True
        )
        monitor.start()
        try:
            info = call()
        except BaseException as error:
            self._finish(done, monitor)
            self._write(
                f"rendezvous failed after {self.clock() - started:.1f}s: {type(error).__name__}"
            )
            raise
        self._finish(done, monitor)
        round_ = handler_round(handler)
        self._write(
            f"rendezvous complete: round {round_ if round_ is not None else self.attempts}, "
            f"world size {info.world_size}, this node's rank {info.rank}, "
            f"took {self.clock() - started:.1f}s"
        )
        return info

    def _finish(self, done: threading.Event, monitor: threading.Thread) -> None:
        done.set()
        monitor.join()
        if self.interactive:
            self.stream.write("\r\x1b[K")

    def _monitor(self, handler: Any, started: float, done: threading.Event) -> None:
        while True:
            self._report(read_snapshot(handler), self.clock() - started)
            if done.wait(self.interval):
                return

    def _report(self, snapshot: Snapshot | None, elapsed: float) -> None:
        joined = "?" if snapshot is None else str(snapshot.joined)
        round_ = "" if snapshot is None or snapshot.round is None else f" (round {snapshot.round})"
        if snapshot is not None and snapshot.complete:
            text = f"rendezvous{round_} formed with {joined} nodes, {elapsed:.0f}s elapsed"
        else:
            text = (
                f"waiting at the rendezvous{round_}: {joined} of {self.expected} nodes joined, "
                f"{elapsed:.0f}s elapsed"
            )
        if self.interactive:
            self.stream.write(f"\r\x1b[K{PREFIX} {text}")
            self.stream.flush()
        else:
            self._write(text)

    def _write(self, text: str) -> None:
        self.stream.write(f"{PREFIX} {text}\n")
        self.stream.flush()
