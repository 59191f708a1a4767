"""Live progress of the rendezvous in ``rendezvous-di run``.

torch's agent blocks in ``handler.next_rendezvous()`` for up to
``join_timeout`` and says nothing meanwhile: an operator cannot tell a slow
peer from a wrong endpoint. `ProgressReporter.watch` wraps that one method on
the handler instance (the class, every other method and property such as
``use_agent_store`` and ``get_backend()`` stay torch's own), and while a call
waits a monitor thread reports how many nodes joined against the expected
``min..max`` and the elapsed time: one updating line on a terminal, a log line
every few seconds otherwise. When the call returns, a summary gives the
round (torch's round number, counted from 0 as torch's own log lines count it),
the world size, this node's rank and the time taken.

How many nodes joined is the backend's to say: its description's ``progress``
reader (`rendezvous_di.backends.description.ProgressReader`) reads the shared
state without touching the handler's own. A backend without one (a plugin,
``static``) shows the time waited only. Nothing here knows a backend or torch's
internals.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from ..backends.description import ProgressReader, Snapshot
from .signals import is_stop

__all__ = ["ProgressReporter", "Snapshot", "read_snapshot"]

PREFIX = "rendezvous-di:"


def _nodes(count: str) -> str:
    """``node`` after a count of one, ``nodes`` after any other (``2``, ``1..3``, ``?``)."""
    return "node" if count == "1" else "nodes"


def read_snapshot(handler: Any, reader: ProgressReader | None) -> Snapshot | None:
    """What ``reader`` says of ``handler``'s rendezvous; None when unknown.

    Never raises: a failed read just shows no count this time.
    """
    if reader is None:
        return None
    try:
        return reader(handler)
    except Exception:
        return None


class ProgressReporter:
    """Reports one handler's rendezvous rounds to ``stream``.

    Args:
        min_nodes: the fewest nodes expected, shown as ``min..max`` with ``max_nodes``.
        max_nodes: the most nodes expected.
        interval: seconds between updates on a terminal.
        log_interval: seconds between log lines when ``stream`` is not a terminal.
        reader: how the handler's backend tells how many nodes joined (its
            description's ``progress``); None shows the time waited only.
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
        reader: ProgressReader | None = None,
    ) -> None:
        self.reader = reader
        self.stream = stream
        self.expected = str(min_nodes) if min_nodes == max_nodes else f"{min_nodes}..{max_nodes}"
        self.interactive = bool(getattr(stream, "isatty", lambda: False)())
        self.interval = interval if self.interactive else log_interval
        self.clock = clock
        self.attempts = 0
        self.formed: int | None = None
        """The round this node's last rendezvous formed (torch's number), None before one."""

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
            if not is_stop(error):  # a signal is reported once, by the command, not here
                self._write(
                    f"rendezvous failed after {self.clock() - started:.1f}s: {type(error).__name__}"
                )
            raise
        self._finish(done, monitor)
        formed = read_snapshot(handler, self.reader)
        round_ = formed.round if formed is not None and formed.complete else None
        # torch's round number, from 0 as in its own log lines ("has joined round 0");
        # a handler without rounds counts this agent's attempts instead, from 1.
        which = f"round {round_}" if round_ is not None else f"attempt {self.attempts}"
        self.formed = round_
        self._write(
            f"rendezvous complete: {which}, "
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
            self._report(read_snapshot(handler, self.reader), self.clock() - started)
            if done.wait(self.interval):
                return

    def _report(self, snapshot: Snapshot | None, elapsed: float) -> None:
        joined = "?" if snapshot is None else str(snapshot.joined)
        if self._left_behind(snapshot):  # the round this node leaves: it waits for the next
            assert self.formed is not None
            snapshot, joined = Snapshot(joined=0, round=self.formed + 1), "?"
        round_ = "" if snapshot is None or snapshot.round is None else f" (round {snapshot.round})"
        if snapshot is not None and snapshot.complete:
            text = (
                f"rendezvous{round_} formed with {joined} {_nodes(joined)}, {elapsed:.0f}s elapsed"
            )
        else:
            text = (
                f"waiting at the rendezvous{round_}: {joined} of {self.expected} "
                f"{_nodes(self.expected)} joined, {elapsed:.0f}s elapsed"
            )
        if self.interactive:
            self.stream.write(f"\r\x1b[K{PREFIX} {text}")
            self.stream.flush()
        else:
            self._write(text)

    def _left_behind(self, snapshot: Snapshot | None) -> bool:
        """Whether ``snapshot`` shows the round this node already had, not the one it waits for.

        When the agent asks for a new round (a restart after a worker failure), the
        shared state still shows the round it leaves, complete, with this node in it,
        until torch's handler takes it out. That round is not the one being waited
        for: the next one is, with no count known yet.
        """
        return (
            snapshot is not None
            and snapshot.complete
            and snapshot.round is not None
            and self.formed is not None
            and snapshot.round <= self.formed
        )

    def _write(self, text: str) -> None:
        self.stream.write(f"{PREFIX} {text}\n")
        self.stream.flush()
